import { loadImagePlate, renderView } from "./src/engine/plate.ts";
import { poseAt } from "./src/engine/shot-plan.ts";
const W = 1280, H = 720;
const plate = await loadImagePlate("/work/shared/samples/photo-saw-2725x2225.jpg", 1378, 775);
const dir = { move: "push_in" as const, speed: 1, fromPrompt: true };
for (const par of [1, 3, 3]) {
  const t = performance.now(); const c = process.cpuUsage();
  let next = 0;
  await Promise.all(Array.from({ length: par }, async () => { while (next < 120) { const i = next++; await renderView(plate, poseAt(dir, 5, i / 119, 16 / 9), W, H); } }));
  const u = process.cpuUsage(c);
  console.log("views par", par, ((performance.now() - t) / 120).toFixed(1), "ms/frame wall", (u.user / 1000 / 120).toFixed(1), "user", (u.system / 1000 / 120).toFixed(1), "sys ms/frame");
}
