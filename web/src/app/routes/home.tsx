import { BinderSection } from "../../features/binder";
import { ServerList, type User } from "../../features/servers";
import { SharedWithMe, SharePanel } from "../../features/sharing";

export function HomeRoute({ user }: { user: User }) {
  return (
    <>
      <ServerList
        user={user}
        serverExtras={(server) => (
          <SharePanel owner={user.name} server={server.name} label={server.name || "Default server"} limit={server.limits.shares} />
        )}
      />
      <SharedWithMe user={user.name} />
      <BinderSection />
    </>
  );
}
