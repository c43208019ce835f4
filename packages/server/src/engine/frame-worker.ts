/** Worker-thread entry: runs kernel requests off the main thread so rendering never blocks the event loop. */
import { parentPort } from "node:worker_threads";
import { handleKernelRequest, type KernelRequest } from "./frame-kernel.ts";

parentPort?.on("message", (message: { id: number; request: KernelRequest }) => {
  try {
    const result = handleKernelRequest(message.request);
    const transfer = "frame" in result ? [result.frame.buffer] : "rgb" in result ? [result.rgb.buffer] : [];
    parentPort?.postMessage({ id: message.id, result }, transfer as ArrayBuffer[]);
  } catch (error) {
    parentPort?.postMessage({
      id: message.id,
      error: error instanceof Error ? error.message : String(error),
    });
  }
});
