/**
 * The rerun panel: opened by clicking a message arrow. Delay the message by
 * N ms, delay it forever, or drop it; POST the plan; poll the rerun's
 * status; then link to the new run and to a comparison with its parent.
 */

import type { GraphMessage, RerunStatus } from "../model/api.ts";
import { describePlan, type FaultChoice, planFor } from "../model/plan.ts";
import { api, pages } from "../model/routes.ts";
import { describe, getJson, postJson } from "./client.ts";
import { h } from "./dom.ts";

const POLL_MS = 500;

export class RerunPanel {
  private pollTimer: number | undefined;

  constructor(
    private readonly panel: HTMLElement,
    private readonly runId: string,
  ) {}

  close(): void {
    window.clearTimeout(this.pollTimer);
    this.panel.hidden = true;
    this.panel.replaceChildren();
    delete this.panel.dataset.state;
    delete this.panel.dataset.verdict;
  }

  open(message: GraphMessage): void {
    this.close();
    const ms = h("input", { type: "number", min: 1, step: 1, value: 500, name: "ms", "aria-label": "delay in milliseconds" }) as HTMLInputElement;
    const option = (value: string, label: Node | string, checked = false) =>
      h("label", { class: "option" }, h("input", { type: "radio", name: "fault", value, checked }), " ", label);
    const submit = h("button", { type: "submit", class: "primary" }, "Start rerun");
    const closeButton = h("button", { type: "button", class: "close", title: "Close (Esc)" }, "×");
    const status = h("div", { class: "rerun-status", role: "status" });
    const form = h(
      "form",
      {},
      h("h2", {}, "Rerun with a fault"),
      h("p", { class: "message-name" }, h("code", {}, message.id)),
      h("p", { class: "meta" }, `${message.bytes ?? "?"} bytes on ${message.channel}${message.dropped ? " · dropped in this run" : message.lost ? " · lost in this run" : ""}`),
      option("delay", h("span", {}, "delay by ", ms, " ms"), true),
      option("delay-forever", "delay forever"),
      option("drop", "drop"),
      h("div", { class: "buttons" }, submit),
      status,
    ) as HTMLFormElement;
    closeButton.addEventListener("click", () => this.close());
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const kind = (form.elements.namedItem("fault") as RadioNodeList).value;
      const choice: FaultChoice = kind === "delay" ? { kind: "delay", ms: Number(ms.value) } : kind === "drop" ? { kind: "drop" } : { kind: "delay-forever" };
      const plan = planFor(message.id, choice);
      if (typeof plan === "string") {
        this.show(status, "error", plan);
        return;
      }
      (submit as HTMLButtonElement).disabled = true;
      this.show(status, "posting", `Scheduling: ${describePlan(plan)}…`);
      postJson<{ id: string }>(api.reruns(this.runId), plan)
        .then(({ id }) => this.poll(status, submit, id))
        .catch((e) => {
          (submit as HTMLButtonElement).disabled = false;
          this.show(status, "error", `Cannot start the rerun: ${describe(e)}`);
        });
    });
    this.panel.replaceChildren(closeButton, form);
    this.panel.dataset.message = message.id;
    this.panel.hidden = false;
    (form.querySelector("input[type=radio]") as HTMLInputElement).focus();
  }

  private show(status: HTMLElement, state: string, text: string, ...extra: Node[]): void {
    this.panel.dataset.state = state;
    status.className = `rerun-status ${state}`;
    status.replaceChildren(h("p", {}, text), ...extra);
  }

  /** Polls rerun `id` until it ends; `submit` is enabled again then, for another try. */
  private poll(status: HTMLElement, submit: HTMLElement, id: string): void {
    this.panel.dataset.rerun = id;
    const tick = async () => {
      let s: RerunStatus;
      try {
        s = await getJson<RerunStatus>(api.rerun(id));
      } catch (e) {
        this.show(status, "error", `Lost track of rerun ${id}: ${describe(e)}`);
        return;
      }
      const open = h("a", { href: pages.run(id), class: "open-run" }, "open");
      const compare = h("a", { href: pages.compare(s.parent, id), class: "compare-runs" }, "compare with parent");
      if (s.state === "done" || s.state === "failed") (submit as HTMLButtonElement).disabled = false;
      switch (s.state) {
        case "queued":
          this.show(status, "queued", `Rerun ${id} is queued behind other reruns…`);
          break;
        case "running":
          this.show(status, "running", `Rerun ${id} is running…`);
          break;
        case "done":
          this.panel.dataset.verdict = s.verdict ?? "unknown";
          this.show(
            status,
            "done",
            `Rerun ${id} finished: verdict `,
            h("p", { class: "links" }, open, " · ", compare),
          );
          status.firstElementChild?.append(h("span", { class: `badge verdict-${s.verdict ?? "unknown"}` }, s.verdict ?? "unknown"));
          return;
        case "failed":
          this.show(
            status,
            "failed",
            `Rerun ${id} failed: ${s.detail ?? "no detail"}`,
            ...(s.stderr_tail ? [h("pre", { class: "stderr" }, s.stderr_tail)] : []),
          );
          return;
      }
      this.pollTimer = window.setTimeout(tick, POLL_MS);
    };
    void tick();
  }
}
