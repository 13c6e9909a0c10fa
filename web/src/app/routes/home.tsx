import { BinderSection } from "../../features/binder";
import { ServerList, type User } from "../../features/servers";

export function HomeRoute({ user }: { user: User }) {
  return (
    <>
      <ServerList user={user} />
      <BinderSection />
    </>
  );
}
