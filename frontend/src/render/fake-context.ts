/** A 2D context that records text and counts calls, for tests and benchmarks in node. */

import type { Ctx } from "./canvas.ts";

export interface RecordingContext extends Ctx {
  texts: string[];
  calls: number;
}

export function recordingContext(): RecordingContext {
  const ctx = {
    texts: [] as string[],
    calls: 0,
    fillStyle: "",
    strokeStyle: "",
    lineWidth: 1,
    globalAlpha: 1,
    font: "",
    textAlign: "left",
    textBaseline: "alphabetic",
  } as unknown as RecordingContext;
  const count = () => {
    ctx.calls++;
  };
  for (const name of ["save", "restore", "beginPath", "moveTo", "lineTo", "rect", "arc", "fill", "stroke", "fillRect", "clip", "setLineDash", "closePath"]) {
    (ctx as unknown as Record<string, unknown>)[name] = count;
  }
  ctx.fillText = (text: string) => {
    ctx.calls++;
    ctx.texts.push(text);
  };
  return ctx;
}
