/**
 * Every query that holds user models (with their servers) lives under one key prefix, so that a start, stop or delete
 * refreshes all of them at once: the signed-in user, one user's page, the admin list.
 */
export const USERS_KEY = ["hub-users"] as const;

/** How often pages ask again, so servers started, stopped or culled elsewhere show up. */
export const USER_POLL_MS = 3_000;
