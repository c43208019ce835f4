import { open } from "node:fs/promises";

export interface Mp4Info {
  /** Seconds, from the movie header. */
  duration: number;
  width: number;
  height: number;
  fps: number;
  hasVideo: boolean;
  hasAudio: boolean;
}

type Handle = Awaited<ReturnType<typeof open>>;

interface Box {
  type: string;
  /** Offset of the payload (after the header). */
  start: number;
  /** Offset just past the box. */
  end: number;
}

/**
 * Read an MP4's duration, frame size, frame rate and track kinds straight from its boxes (moov →
 * mvhd, trak → tkhd/mdhd/hdlr/stsz), reading only the headers, not the media data. It is what
 * ffprobe would say for a plain MP4 and costs microseconds instead of a process; anything it
 * cannot parse throws, and the caller falls back to ffprobe.
 */
export async function readMp4Info(path: string): Promise<Mp4Info> {
  const file = await open(path, "r");
  try {
    const size = (await file.stat()).size;
    const top = await listBoxes(file, 0, size);
    const moov = top.find((b) => b.type === "moov");
    if (!moov) throw new Error("no moov box");
    if (moov.end - moov.start > 64 * 1024 * 1024) throw new Error("moov box too large to read");
    const buf = Buffer.alloc(moov.end - moov.start);
    await file.read(buf, 0, buf.length, moov.start);
    return parseMoov(buf);
  } finally {
    await file.close();
  }
}

async function listBoxes(file: Handle, from: number, to: number): Promise<Box[]> {
  const boxes: Box[] = [];
  const header = Buffer.alloc(16);
  let offset = from;
  while (offset + 8 <= to) {
    await file.read(header, 0, 16, offset);
    let size = header.readUInt32BE(0);
    const type = header.toString("latin1", 4, 8);
    let headerSize = 8;
    if (size === 1) {
      size = Number(header.readBigUInt64BE(8));
      headerSize = 16;
    } else if (size === 0) {
      size = to - offset;
    }
    if (size < headerSize || offset + size > to) throw new Error(`malformed box ${type} at ${offset}`);
    boxes.push({ type, start: offset + headerSize, end: offset + size });
    offset += size;
  }
  return boxes;
}

function children(buf: Buffer, from: number, to: number): Box[] {
  const boxes: Box[] = [];
  let offset = from;
  while (offset + 8 <= to) {
    let size = buf.readUInt32BE(offset);
    const type = buf.toString("latin1", offset + 4, offset + 8);
    let headerSize = 8;
    if (size === 1) {
      size = Number(buf.readBigUInt64BE(offset + 8));
      headerSize = 16;
    } else if (size === 0) {
      size = to - offset;
    }
    if (size < headerSize || offset + size > to) throw new Error(`malformed box ${type}`);
    boxes.push({ type, start: offset + headerSize, end: offset + size });
    offset += size;
  }
  return boxes;
}

function find(buf: Buffer, box: Box, path: string[]): Box | undefined {
  let current: Box | undefined = box;
  for (const type of path) {
    if (!current) return undefined;
    current = children(buf, current.start, current.end).find((b) => b.type === type);
  }
  return current;
}

/** (timescale, duration) of an mvhd or mdhd payload, either version. */
function timing(buf: Buffer, box: Box): { timescale: number; duration: number } {
  const version = buf[box.start];
  if (version === 1) {
    return {
      timescale: buf.readUInt32BE(box.start + 20),
      duration: Number(buf.readBigUInt64BE(box.start + 24)),
    };
  }
  return { timescale: buf.readUInt32BE(box.start + 12), duration: buf.readUInt32BE(box.start + 16) };
}

function parseMoov(buf: Buffer): Mp4Info {
  const root: Box = { type: "moov", start: 0, end: buf.length };
  const mvhd = find(buf, root, ["mvhd"]);
  if (!mvhd) throw new Error("no mvhd box");
  const movie = timing(buf, mvhd);
  if (!movie.timescale) throw new Error("zero timescale");
  const info: Mp4Info = {
    duration: movie.duration / movie.timescale,
    width: 0,
    height: 0,
    fps: 0,
    hasVideo: false,
    hasAudio: false,
  };
  for (const trak of children(buf, 0, buf.length).filter((b) => b.type === "trak")) {
    const hdlr = find(buf, trak, ["mdia", "hdlr"]);
    const handler = hdlr ? buf.toString("latin1", hdlr.start + 8, hdlr.start + 12) : "";
    if (handler === "soun") info.hasAudio = true;
    if (handler !== "vide" || info.hasVideo) continue;
    info.hasVideo = true;
    const tkhd = find(buf, trak, ["tkhd"]);
    if (tkhd) {
      // Width and height are 16.16 fixed point at the end of tkhd.
      info.width = Math.round(buf.readUInt32BE(tkhd.end - 8) / 65536);
      info.height = Math.round(buf.readUInt32BE(tkhd.end - 4) / 65536);
    }
    const mdhd = find(buf, trak, ["mdia", "mdhd"]);
    const stsz = find(buf, trak, ["mdia", "minf", "stbl", "stsz"]);
    if (mdhd && stsz) {
      const media = timing(buf, mdhd);
      const samples = buf.readUInt32BE(stsz.start + 8);
      if (media.timescale && media.duration) info.fps = samples / (media.duration / media.timescale);
    }
  }
  if (!info.hasVideo || !info.width || !info.height) throw new Error("no video track with a frame size");
  return info;
}
