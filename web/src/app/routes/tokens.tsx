import { NewTokenForm, TokenList } from "../../features/tokens";

export function TokensRoute({ user }: { user: string }) {
  return (
    <>
      <NewTokenForm user={user} />
      <TokenList user={user} />
    </>
  );
}
