import { useState } from "react";
import type { User } from "../types";
import { NewServerForm } from "./new-server-form";
import { ServerCard } from "./server-card";

/** The user's servers (default first, then by name), the named-server count and the form to create one. */
export function ServerList({ user }: { user: User }) {
  // How many starts of each server this page has made: a new number opens a new progress stream.
  const [starts, setStarts] = useState<ReadonlyMap<string, number>>(new Map());
  const follow = (name: string) => setStarts((m) => new Map(m).set(name, (m.get(name) ?? 0) + 1));
  const servers = Object.values(user.servers).sort((a, b) => (a.name === "" ? -1 : b.name === "" ? 1 : a.name.localeCompare(b.name)));
  const named = servers.filter((s) => s.name !== "").map((s) => s.name);
  return (
    <>
      <section aria-labelledby="servers-title">
        <div className="section-head">
          <h2 id="servers-title">Your servers</h2>
          <p className="muted" data-testid="named-count">
            {named.length === 1 ? "1 named server" : `${named.length} named servers`} in use
          </p>
        </div>
        {servers.length === 0 ? (
          <p>You have no servers yet. Create one below.</p>
        ) : (
          <ul className="server-list">
            {servers.map((server) => (
              <ServerCard
                key={server.name}
                user={user.name}
                server={server}
                startCount={starts.get(server.name) ?? 0}
                onStarted={follow}
              />
            ))}
          </ul>
        )}
      </section>
      <NewServerForm user={user.name} existing={named} onCreated={follow} />
    </>
  );
}
