/**
 * Runs a passport strategy once, outside Express and without sessions. passport.authenticate() does the same: it
 * makes an object inheriting from the strategy, gives it the success/fail/error/pass/redirect actions and calls
 * authenticate(req). Here those actions settle a promise instead of writing a response.
 */

export type StrategyOutcome<User> =
  | { kind: "success"; user: User }
  | { kind: "fail"; info: unknown }
  | { kind: "error"; error: unknown };

/** The part of a passport strategy this needs. */
interface Strategy {
  authenticate(req: object, options?: object): void;
}

interface Actions {
  success(user: unknown, info?: unknown): void;
  fail(info?: unknown, status?: number): void;
  error(error: unknown): void;
  pass(): void;
  redirect(url: string): void;
}

/**
 * `req` is a synthetic request: password strategies here read credentials through their own lookup option. The first
 * action wins — passport-ldapauth can report a connection failure twice (its error event, then the bind callback) —
 * and `timeoutMs` ends a strategy that never reports at all.
 */
export function runStrategy<User>(strategy: Strategy, timeoutMs: number, req: object = {}): Promise<StrategyOutcome<User>> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome: StrategyOutcome<User>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const timer = setTimeout(() => settle({ kind: "error", error: new Error(`no answer within ${timeoutMs} ms`) }), timeoutMs);
    const actions: Actions = {
      success: (user) => settle({ kind: "success", user: user as User }),
      fail: (info) => settle({ kind: "fail", info }),
      error: (error) => settle({ kind: "error", error }),
      pass: () => settle({ kind: "fail", info: "strategy passed" }),
      redirect: () => settle({ kind: "error", error: new Error("a password strategy asked for a redirect") }),
    };
    const run = Object.assign(Object.create(strategy) as Strategy, actions);
    try {
      run.authenticate(req, {});
    } catch (error) {
      settle({ kind: "error", error });
    }
  });
}
