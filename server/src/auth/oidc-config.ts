/**
 * Configuration of OpenID Connect providers (`auth.oidc` in the hub's config): each one is a button on the sign-in
 * page, side by side with the password form. Kept apart from config/schema.ts so that file only names the field.
 */
import { z } from "zod";

export const oidcProviderSchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9-]+$/, "lowercase letters, digits and dashes only")
      .describe("Identifies the provider in URLs (/hub/oauth_login/<name>) and logs."),
    label: z.string().min(1).describe("The sign-in button's text, e.g. `Sign in with Keycloak`."),
    issuer: z
      .url()
      .describe("The provider's issuer URL; its /.well-known/openid-configuration is discovered at the first sign-in."),
    clientId: z.string().min(1).describe("The client id the provider registered for this hub."),
    clientSecret: z
      .string()
      .optional()
      .meta({ secret: true })
      .describe("Secret. The client secret, when not in clientSecretFile (a public client has none)."),
    clientSecretFile: z
      .string()
      .optional()
      .describe("A file holding the client secret (read at startup, trailing whitespace ignored)."),
    scopes: z
      .array(z.string())
      .default(["openid", "profile", "email"])
      .describe("Scopes requested; add the provider's groups scope (often `groups`) when it needs one for the groups claim."),
    usernameClaim: z
      .string()
      .default("preferred_username")
      .describe("The ID-token (or userinfo) claim that names the hub user; lowercased."),
    stripDomain: z
      .boolean()
      .default(false)
      .describe("Drop `@domain` from the username claim (`alice@example.org` → `alice`)."),
    groupsClaim: z
      .string()
      .default("groups")
      .describe("The claim listing the person's groups (used by allowedGroups/adminGroups and synced at each sign-in)."),
    allowInsecureHttp: z
      .boolean()
      .default(false)
      .describe("Allow an http:// issuer. For tests and local development only: tokens would travel in clear."),
  })
  .strict();

export type OidcProviderConfig = z.output<typeof oidcProviderSchema>;

export const oidcProvidersSchema = z
  .array(oidcProviderSchema)
  .default([])
  .refine((list) => new Set(list.map((p) => p.name)).size === list.length, "provider names must be unique")
  .describe(
    "OpenID Connect providers offered on the sign-in page. Register <hub URL>/hub/oauth_callback as the redirect URI " +
      "and <hub URL>/hub/login as the post-logout redirect URI with each.",
  );
