/** A surface's data as views see it: loading, failed (with a retry) or there. */
export type Loadable<T> =
  | { status: "loading" }
  | { status: "error"; error: unknown; onRetry?: () => void }
  | { status: "ready"; data: T };

export const loading = { status: "loading" } as const;
export function ready<T>(data: T): Loadable<T> {
  return { status: "ready", data };
}
export function failed(error: unknown, onRetry?: () => void): Loadable<never> {
  return { status: "error", error, onRetry };
}

/** From a TanStack query result (the hooks' output) to a Loadable. */
export function fromQuery<T>(query: {
  status: "pending" | "error" | "success";
  data: T | undefined;
  error: unknown;
  fetchStatus?: string;
  refetch: () => unknown;
}): Loadable<T> {
  if (query.status === "success") return ready(query.data as T);
  if (query.status === "error") return failed(query.error, () => void query.refetch());
  return loading;
}
