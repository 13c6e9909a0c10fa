/**
 * A real, certified OpenID Connect provider (panva's oidc-provider) on a loopback port for sign-in tests: one
 * confidential client, PKCE required, RP-initiated logout, and accounts with groups. Its built-in development
 * interactions (a login form that takes any password, then a consent form) are driven by the tests with fetch.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
// oidc-provider ships no type declarations; the tests only need its constructor and callback().
// @ts-expect-error -- untyped module
import ProviderModule from "oidc-provider";

export interface TestAccount {
  preferred_username: string;
  email: string;
  groups: string[];
}

export interface TestOidcProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  close(): Promise<void>;
}

const Provider = ProviderModule as new (issuer: string, configuration: Record<string, unknown>) => {
  callback(): http.RequestListener;
  proxy: boolean;
};

export async function startOidcProvider(options: {
  /** Where the hub listens, e.g. http://127.0.0.1:40123 (its callback and post-logout URLs are registered). */
  hubUrl: string;
  accounts: Record<string, TestAccount>;
}): Promise<TestOidcProvider> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientId = "ganymede";
  const clientSecret = "test-client-secret";
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [`${options.hubUrl}/hub/oauth_callback`],
        post_logout_redirect_uris: [`${options.hubUrl}/hub/login`],
        grant_types: ["authorization_code"],
        response_types: ["code"],
      },
    ],
    pkce: { required: () => true },
    claims: {
      openid: ["sub"],
      profile: ["preferred_username"],
      email: ["email"],
      groups: ["groups"],
    },
    features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
    cookies: { keys: ["test-cookie-key"] },
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600, AuthorizationCode: 60 },
    async findAccount(_ctx: unknown, sub: string) {
      const account = options.accounts[sub];
      if (!account) return undefined;
      return { accountId: sub, claims: async () => ({ sub, ...account }) };
    },
  });
  server.on("request", provider.callback());
  return {
    issuer,
    clientId,
    clientSecret,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
