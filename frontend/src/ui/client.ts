/** Fetches from the JSON API; a failure carries the server's `detail`. */

import { type ApiErrorBody, errorDetail } from "../model/api.ts";

export class ApiFailure extends Error {
  override name = "ApiFailure";
  constructor(
    readonly status: number,
    readonly body: ApiErrorBody,
  ) {
    super(body.detail);
  }
}

async function request<T>(method: string, url: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (e) {
    // A cancelled request is not a failure to report: whoever cancelled it knows.
    if (signal?.aborted === true) throw e;
    throw new ApiFailure(0, { error: "network", detail: `cannot reach the bop server (${String(e)}); is bop serve still running?` });
  }
  if (res.status === 204) return undefined as T;
  let json: unknown = null;
  try {
    json = await res.json();
  } catch {
    if (res.ok) throw new ApiFailure(res.status, { error: "bad_answer", detail: `${url} did not answer JSON` });
  }
  if (!res.ok) throw new ApiFailure(res.status, errorDetail(res.status, json));
  return json as T;
}

/** `signal` cancels the request (a window the view no longer needs); it then rejects with the AbortError. */
export const getJson = <T>(url: string, signal?: AbortSignal): Promise<T> => request<T>("GET", url, undefined, signal);
export const postJson = <T>(url: string, body: unknown): Promise<T> => request<T>("POST", url, body);
export const del = (url: string): Promise<void> => request<void>("DELETE", url);

/** One sentence for any failure. */
export function describe(e: unknown): string {
  if (e instanceof ApiFailure) return e.body.detail;
  if (e instanceof Error) return e.message;
  return String(e);
}
