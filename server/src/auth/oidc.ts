/**
 * OpenID Connect sign-in (authorization code flow with PKCE) through openid-client. This module only speaks the
 * protocol and turns claims into an ExternalIdentity; the hub's rules (allowed/admin groups, creating the user) stay in
 * sign-in.ts and the HTTP side (cookies, redirects) in http/oidc-routes.ts.
 */
import { readFile } from "node:fs/promises";
import * as client from "openid-client";
import { ForbiddenError, UnavailableError } from "../errors.js";
import type { ExternalIdentity } from "./authenticator.js";
import type { OidcProviderConfig } from "./oidc-config.js";

/** What the browser carries (sealed) between the redirect to the provider and the callback. */
export interface OidcFlow {
  provider: string;
  state: string;
  nonce: string;
  codeVerifier: string;
  next: string;
}

export class OidcClient {
  private discovered?: Promise<client.Configuration>;

  constructor(
    readonly config: OidcProviderConfig,
    private readonly clientSecret: string | undefined,
  ) {}

  get name(): string {
    return this.config.name;
  }

  /** The provider's metadata, discovered once; a failed discovery is retried at the next sign-in. */
  private configuration(): Promise<client.Configuration> {
    this.discovered ??= client
      .discovery(
        new URL(this.config.issuer),
        this.config.clientId,
        undefined,
        this.clientSecret ? client.ClientSecretBasic(this.clientSecret) : client.None(),
        { execute: this.config.allowInsecureHttp ? [client.allowInsecureRequests] : [], timeout: 10 },
      )
      .catch((err: unknown) => {
        this.discovered = undefined;
        throw new UnavailableError(`${this.config.label} is unavailable right now; please try again later.`, {
          provider: this.name,
          cause: String(err),
        });
      });
    return this.discovered;
  }

  /** Builds the provider's authorization URL and the secrets the callback needs to check its answer. */
  async begin(redirectUri: string, next: string): Promise<{ url: URL; flow: OidcFlow }> {
    const config = await this.configuration();
    const codeVerifier = client.randomPKCECodeVerifier();
    const flow: OidcFlow = { provider: this.name, state: client.randomState(), nonce: client.randomNonce(), codeVerifier, next };
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: this.config.scopes.join(" "),
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: "S256",
      state: flow.state,
      nonce: flow.nonce,
    });
    return { url, flow };
  }

  /**
   * Checks the provider's answer (state, then openid-client checks issuer, nonce and the ID token), exchanges the code
   * and reads who signed in. Throws ForbiddenError for refusals and UnavailableError when the provider is unreachable.
   */
  async complete(callbackUrl: URL, flow: OidcFlow): Promise<{ identity: ExternalIdentity; idToken?: string }> {
    const config = await this.configuration();
    const refused = callbackUrl.searchParams.get("error");
    if (refused) {
      const why = callbackUrl.searchParams.get("error_description") ?? refused;
      throw new ForbiddenError(`${this.config.label} did not sign you in: ${why}`);
    }
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      tokens = await client.authorizationCodeGrant(config, callbackUrl, {
        expectedState: flow.state,
        expectedNonce: flow.nonce,
        pkceCodeVerifier: flow.codeVerifier,
        idTokenExpected: true,
      });
    } catch (err) {
      throw this.classify(err);
    }
    const idClaims = tokens.claims()!;
    let claims: Record<string, unknown> = { ...idClaims };
    // Conformant providers put profile and group claims in userinfo, not the ID token, when an access token is issued.
    if ((claims[this.config.usernameClaim] === undefined || claims[this.config.groupsClaim] === undefined) && config.serverMetadata().userinfo_endpoint) {
      try {
        claims = { ...(await client.fetchUserInfo(config, tokens.access_token, idClaims.sub)), ...claims };
      } catch (err) {
        throw this.classify(err);
      }
    }
    return { identity: identityFromClaims(claims, this.config), idToken: tokens.id_token };
  }

  /** Where to send the browser to end the provider's session too, or undefined when the provider has no such endpoint. */
  async endSessionUrl(idTokenHint: string | undefined, postLogoutRedirectUri: string): Promise<URL | undefined> {
    const config = await this.configuration().catch(() => undefined);
    if (!config?.serverMetadata().end_session_endpoint) return undefined;
    return client.buildEndSessionUrl(config, {
      client_id: this.config.clientId,
      post_logout_redirect_uri: postLogoutRedirectUri,
      ...(idTokenHint ? { id_token_hint: idTokenHint } : {}),
    });
  }

  private classify(err: unknown): Error {
    // fetch() failing outright means the provider could not be reached; anything else is a refused or broken answer.
    if ((err instanceof TypeError && err.message === "fetch failed") || (err instanceof Error && (err.name === "AbortError" || err.name === "TimeoutError"))) {
      return new UnavailableError(`${this.config.label} is unavailable right now; please try again later.`);
    }
    const message = err instanceof Error ? err.message : String(err);
    return new ForbiddenError(`Sign-in with ${this.config.label} failed: ${message}`);
  }
}

/** Turns ID-token / userinfo claims into a hub identity: the username claim lowercased (domain stripped if asked). */
export function identityFromClaims(
  claims: Record<string, unknown>,
  config: Pick<OidcProviderConfig, "label" | "usernameClaim" | "groupsClaim" | "stripDomain">,
): ExternalIdentity {
  const raw = claims[config.usernameClaim];
  if (typeof raw !== "string" || !raw.trim()) {
    throw new ForbiddenError(`${config.label} did not say who you are (no \`${config.usernameClaim}\` claim).`);
  }
  let username = raw.trim().toLowerCase();
  if (config.stripDomain && username.includes("@")) username = username.slice(0, username.indexOf("@"));
  const value = claims[config.groupsClaim];
  const list = Array.isArray(value) ? value : typeof value === "string" ? [value] : [];
  const groups = [...new Set(list.filter((g): g is string => typeof g === "string" && g !== ""))];
  return { username, groups };
}

/** One client per configured provider, by name; secret files are read here, once, at startup. */
export async function createOidcClients(providers: OidcProviderConfig[]): Promise<Map<string, OidcClient>> {
  const clients = new Map<string, OidcClient>();
  for (const p of providers) {
    const secret = p.clientSecretFile ? (await readFile(p.clientSecretFile, "utf8")).trimEnd() : p.clientSecret;
    clients.set(p.name, new OidcClient(p, secret));
  }
  return clients;
}
