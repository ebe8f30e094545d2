import assert from "node:assert/strict";
import { test } from "node:test";
import { type Action, actionFor, bindingsFor, type KeyContext, KEYMAP, keyLabel, type Page } from "./keymap.ts";

const PAGES: Page[] = ["run", "compare"];
const press = (key: string, mods: Partial<{ ctrlKey: boolean; metaKey: boolean; altKey: boolean }> = {}) => ({ key, ctrlKey: false, metaKey: false, altKey: false, ...mods });
const ctx = (o: Partial<KeyContext> = {}): KeyContext => ({ page: "run", diagramFocused: true, inTextField: false, helpOpen: false, ...o });

test("the table is well formed: one action per key per page, each action once, every row described", () => {
  for (const page of PAGES) {
    const keys = bindingsFor(page).flatMap((b) => b.keys);
    assert.equal(new Set(keys).size, keys.length, `a key is bound twice on the ${page} page: ${keys.join(" ")}`);
  }
  const actions = KEYMAP.map((b) => b.action);
  assert.equal(new Set(actions).size, actions.length, "an action has two rows");
  for (const b of KEYMAP) {
    assert.ok(b.keys.length > 0 && b.description.length > 0, JSON.stringify(b));
    assert.ok(b.pages === undefined || b.pages.length > 0, `${b.action} exists on no page`);
  }
});

test("every key of the table maps to its action on its pages, and to nothing elsewhere", () => {
  for (const b of KEYMAP) {
    for (const page of PAGES) {
      const here = b.pages === undefined || b.pages.includes(page);
      for (const key of b.keys) assert.equal(actionFor(press(key), ctx({ page })), here ? b.action : null, `${key} on ${page}`);
    }
  }
  // The pan/zoom keys are the same on both pages.
  const shared = (page: Page) => bindingsFor(page).filter((b) => b.pages === undefined);
  assert.deepEqual(shared("run"), shared("compare"));
  assert.ok(shared("run").length >= 9);
});

test("arrows need a focused diagram; the other keys act from anywhere", () => {
  const unfocused = ctx({ diagramFocused: false });
  for (const key of ["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown"]) assert.equal(actionFor(press(key), unfocused), null, key);
  const expected: [string, Action][] = [
    ["+", "zoom-in"],
    ["-", "zoom-out"],
    ["0", "fit"],
    ["?", "help"],
    ["Escape", "clear"],
  ];
  for (const [key, action] of expected) assert.equal(actionFor(press(key), unfocused), action, key);
});

test("text fields keep their keys except Escape; modifiers leave keys to the browser", () => {
  const typing = ctx({ inTextField: true });
  for (const key of ["0", "+", "f", "?", "ArrowLeft"]) assert.equal(actionFor(press(key), typing), null, key);
  assert.equal(actionFor(press("Escape"), typing), "clear");
  for (const mod of ["ctrlKey", "metaKey", "altKey"] as const) assert.equal(actionFor(press("+", { [mod]: true }), ctx()), null, mod);
  assert.equal(actionFor(press("x"), ctx()), null, "an unbound key");
});

test("while the help is open only ? and Escape act, and both close it", () => {
  const open = ctx({ helpOpen: true });
  assert.equal(actionFor(press("?"), open), "help");
  assert.equal(actionFor(press("Escape"), open), "help");
  for (const key of ["+", "0", "ArrowLeft"]) assert.equal(actionFor(press(key), open), null, key);
});

test("key labels", () => {
  assert.deepEqual(["ArrowLeft", "ArrowDown", "Escape", "+", "?"].map(keyLabel), ["←", "↓", "Esc", "+", "?"]);
});

test("the navigation keys act on the run page from anywhere but type in the find box", () => {
  const expected: [string, Action][] = [
    ["/", "find"],
    ["n", "find-next"],
    ["N", "find-prev"],
    ["c", "collapse-all"],
  ];
  for (const [key, action] of expected) {
    assert.equal(actionFor(press(key), ctx({ diagramFocused: false })), action, key);
    assert.equal(actionFor(press(key), ctx({ inTextField: true })), null, `${key} types in a text field`);
    assert.equal(actionFor(press(key), ctx({ page: "compare" })), null, `${key} is not a comparison key`);
  }
});
