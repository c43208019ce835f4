/**
 * Image-to-video with @vidrelay/sdk: upload, submit citing @image1, follow the progress (Server-Sent
 * Events, falling back to polling), print the video URL — and optionally save the mp4.
 *
 *   VIDRELAY_BASE_URL=http://127.0.0.1:8080 VIDRELAY_API_KEY=sk-… \
 *     node --import tsx examples/sdk/quickstart.ts [image] [out.mp4]   (default image: examples/media/)
 */
import { fileURLToPath } from "node:url";
import { TaskFailedError, VidRelay, VidRelayError } from "@vidrelay/sdk";

const image = process.argv[2] ?? fileURLToPath(new URL("../media/landscape-600x450.jpg", import.meta.url));
const output = process.argv[3];

try {
  const client = new VidRelay(); // VIDRELAY_API_KEY and VIDRELAY_BASE_URL from the environment
  const file = await client.files.upload(image);
  const task = await client.videos.create({
    model: "seedance-1-5-pro-with-audio",
    prompt: "@image1 the camera slowly pushes in as the light glints",
    seconds: "5",
    metadata: {
      ratio: "16:9",
      resolution: "720p",
      content: [{ type: "image_url", image_url: { url: file.url }, role: "reference_image" }],
    },
  });
  console.error(`submitted ${task.task_id}`);
  const done = await client.videos.wait(task, {
    onProgress: (t) => console.error(`${t.status} ${t.progress}%`),
    timeoutMs: 30 * 60_000,
  });
  console.log(done.url);
  if (output) console.error(`saved ${await client.videos.download(done, output)}`);
} catch (error) {
  if (error instanceof TaskFailedError)
    console.error(`task failed: ${error.code}: ${error.task.error?.message}`);
  else if (error instanceof VidRelayError) console.error(`${error.name}: ${error.message}`);
  else throw error;
  process.exitCode = 1;
}
