/**
 * The keyboard help of the diagram pages: a dialog listing the key map
 * (layout/keymap.ts) and the pointer gestures (layout/navigate.ts), built
 * from those tables so the page documents exactly what is bound. Opened
 * by `?` or the toolbar's "Keys" button; closed by `?`, Escape or its
 * button.
 *
 * Test hooks: `#key-help[open]`; one `tr[data-action]` per binding with
 * one `kbd[data-key]` per key (the `KeyboardEvent.key` value).
 */

import { bindingsFor, keyLabel, type Page } from "../layout/keymap.ts";
import { GESTURES } from "../layout/navigate.ts";
import { h } from "./dom.ts";

export class KeyHelp {
  private readonly dialog: HTMLDialogElement;

  constructor(page: Page) {
    const close = h("button", { type: "button", class: "close", "aria-label": "Close the list of keys" }, "Close");
    close.addEventListener("click", () => this.close());
    const bindings = bindingsFor(page);
    const focusKeys = bindings.filter((b) => b.needsFocus).flatMap((b) => b.keys.map(keyLabel));
    const rows = bindings.map((b) =>
      h(
        "tr",
        { "data-action": b.action },
        h("td", { class: "keys" }, ...b.keys.flatMap((k, i) => [i > 0 ? " " : null, h("kbd", { "data-key": k, title: k }, keyLabel(k))])),
        h("td", {}, b.description, b.needsFocus ? h("span", { class: "meta" }, " (diagram focused)") : null),
      ),
    );
    const gestures = GESTURES.map((g) => h("tr", { class: "gesture" }, h("td", { class: "keys" }, g.gesture), h("td", {}, g.description)));
    // Inline width: the stylesheet (static/bop.css) has no rule for this dialog.
    this.dialog = h(
      "dialog",
      { id: "key-help", class: "key-help", "aria-labelledby": "key-help-title", style: "max-width: 44em" },
      h("h2", { id: "key-help-title" }, "Keys"),
      h(
        "table",
        { class: "runs" },
        h("thead", {}, h("tr", {}, h("th", {}, "Key"), h("th", {}, "Does"))),
        h("tbody", {}, ...rows),
        h("thead", {}, h("tr", {}, h("th", {}, "Pointer"), h("th", {}, ""))),
        h("tbody", {}, ...gestures),
      ),
      h("p", { class: "meta" }, `${focusKeys.join(" ")} act while a diagram has focus (click it, drag it or Tab to it), so that elsewhere they still scroll the page. The other keys work anywhere on the page but in text fields.`),
      h("p", {}, close),
    ) as HTMLDialogElement;
    document.body.append(this.dialog);
  }

  get isOpen(): boolean {
    return this.dialog.open;
  }

  toggle(): void {
    if (this.isOpen) this.close();
    else this.dialog.showModal();
  }

  close(): void {
    this.dialog.close();
  }
}
