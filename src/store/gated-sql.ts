/**
 * The store's SQLite handle, made safe to share between concurrent
 * requests. Bun's SQLite adapter has one connection, and a transaction
 * holds it across every await of its callback: a query sent through the
 * handle (not the transaction's own `tx`) meanwhile runs inside that
 * transaction. It reads what is not committed, and when the transaction
 * rolls back, the query's write goes with it, though its caller was told
 * it succeeded. PostgreSQL does not need this: its pool reserves a
 * connection for each transaction.
 *
 * So every statement passes one gate (read-write-gate.ts): a transaction
 * holds it alone, standalone statements hold it together. SQLite runs one
 * statement at a time on the connection anyway; what the gate adds is only
 * that nothing runs between a transaction's statements but its own.
 *
 * Calls that only build a helper value (`sql(list)` for an IN list,
 * `sql(object)`, `sql.array(…)`) pass straight through. A statement or a
 * transaction started through the handle inside one of its own
 * transactions would wait for that transaction forever: it is refused
 * with an error instead (the code must use `tx`).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { SQL } from "bun";
import { ReadWriteGate } from "./read-write-gate.ts";

/** Methods that send no SQL of their own (symbol-named ones too: dispose closes). */
const PASS_THROUGH = new Set<PropertyKey>(["options", "close", "end", "flush", "connect", "array", "json"]);

type AnyFunction = (...args: unknown[]) => unknown;

/** `sql` behind a gate (see above); typed as SQL, so callers stay as they are. */
export function gateSql(sql: SQL): SQL {
  const gate = new ReadWriteGate();
  const inTransaction = new AsyncLocalStorage<{ open: boolean }>();
  const refusal = (): Error | undefined =>
    inTransaction.getStore()?.open
      ? new Error("SQL through the store's database handle inside one of its own transactions would wait forever: use the transaction's handle")
      : undefined;

  const statement =
    (method: AnyFunction) =>
    (...args: unknown[]): Promise<unknown> => {
      const refused = refusal();
      if (refused) return Promise.reject(refused);
      return gate.shared(() => method.apply(sql, args) as PromiseLike<unknown>);
    };

  const transaction =
    (method: AnyFunction) =>
    (...args: unknown[]): Promise<unknown> => {
      const refused = refusal();
      if (refused) return Promise.reject(refused);
      return gate.exclusive(() => {
        const scope = { open: true };
        // Work the callback leaves running past the end (a timer it set) may use the handle again.
        return (inTransaction.run(scope, () => method.apply(sql, args)) as Promise<unknown>).finally(() => {
          scope.open = false;
        });
      });
    };

  const gated: Record<PropertyKey, unknown> = {
    begin: transaction(sql.begin as AnyFunction),
    transaction: transaction(sql.transaction as AnyFunction),
    unsafe: statement(sql.unsafe as AnyFunction),
    file: statement(sql.file as AnyFunction),
  };
  const call = statement(sql as unknown as AnyFunction);

  return new Proxy(sql, {
    apply(target, _this, args: unknown[]) {
      // A tagged template is a statement; anything else builds a helper value.
      return isTemplate(args[0]) ? call(...args) : Reflect.apply(target, target, args);
    },
    get(target, property) {
      if (Object.hasOwn(gated, property)) return gated[property];
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== "function" || PASS_THROUGH.has(property) || typeof property === "symbol") {
        return typeof value === "function" ? value.bind(target) : value;
      }
      return () => {
        throw new Error(`sql.${String(property)} is not available on the store's SQLite handle`);
      };
    },
  });
}

function isTemplate(value: unknown): value is TemplateStringsArray {
  return Array.isArray(value) && Object.hasOwn(value, "raw");
}
