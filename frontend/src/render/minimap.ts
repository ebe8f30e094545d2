/**
 * Draws the minimap (layout/minimap.ts): each lane a row of cells shaded
 * by event density (square root, so a few events still show next to a
 * burst), and the diagram's window as a box. Drawing only.
 */

import { type Box, type Density, miniY, windowBox } from "../layout/minimap.ts";
import type { Viewport } from "../layout/viewport.ts";
import type { Ctx } from "./canvas.ts";
import { THEME } from "./theme.ts";

export function drawMinimap(ctx: Ctx, d: Density, box: Box, v: Viewport): void {
  ctx.save();
  ctx.fillStyle = THEME.gutter;
  ctx.fillRect(0, 0, box.width, box.height);
  const cw = box.width / Math.max(1, d.columns);
  ctx.fillStyle = THEME.label;
  for (const lane of d.lanes) {
    const y0 = miniY(d, box, lane.top);
    const h = Math.max(1, miniY(d, box, lane.bottom) - y0 - 1);
    for (let c = 0; c < d.columns; c++) {
      const n = lane.counts[c];
      if (n === 0) continue;
      ctx.globalAlpha = 0.35 + 0.65 * Math.sqrt(n / Math.max(1, d.max));
      ctx.fillRect(c * cw, y0, Math.max(1, cw), h);
    }
  }
  ctx.globalAlpha = 1;
  const w = windowBox(d, box, v);
  ctx.fillStyle = THEME.arrow[0];
  ctx.globalAlpha = 0.12;
  ctx.fillRect(w.x, w.y, w.w, w.h);
  ctx.globalAlpha = 1;
  ctx.strokeStyle = THEME.arrow[0];
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  ctx.rect(w.x + 0.75, w.y + 0.75, Math.max(1, w.w - 1.5), Math.max(1, w.h - 1.5));
  ctx.stroke();
  ctx.restore();
}
