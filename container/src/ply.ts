// Binary little-endian PLY with x, y, z (float32) and red, green, blue (uchar) per vertex: the format
// every point-cloud viewer (MeshLab, CloudCompare, Open3D, Blender) opens.
import type { PointCloud } from './reconstruct.ts';

const BYTES_PER_VERTEX = 15;

export function encodePly(
  cloud: Pick<PointCloud, 'count' | 'positions' | 'colors'>,
  comment = 'silhouette inflation',
): Buffer {
  const header = Buffer.from(
    [
      'ply',
      'format binary_little_endian 1.0',
      `comment ${comment}`,
      `element vertex ${cloud.count}`,
      'property float x',
      'property float y',
      'property float z',
      'property uchar red',
      'property uchar green',
      'property uchar blue',
      'end_header',
      '',
    ].join('\n'),
    'ascii',
  );
  const body = Buffer.allocUnsafe(cloud.count * BYTES_PER_VERTEX);
  for (let i = 0, o = 0; i < cloud.count; i++, o += BYTES_PER_VERTEX) {
    body.writeFloatLE(cloud.positions[i * 3]!, o);
    body.writeFloatLE(cloud.positions[i * 3 + 1]!, o + 4);
    body.writeFloatLE(cloud.positions[i * 3 + 2]!, o + 8);
    body[o + 12] = cloud.colors[i * 3]!;
    body[o + 13] = cloud.colors[i * 3 + 1]!;
    body[o + 14] = cloud.colors[i * 3 + 2]!;
  }
  return Buffer.concat([header, body]);
}

export interface ParsedPly {
  count: number;
  positions: Float32Array;
  colors: Uint8Array;
}

/** Reads back a PLY written by encodePly (and any with the same vertex layout); throws on anything else. */
export function parsePly(file: Buffer): ParsedPly {
  const end = file.indexOf('end_header\n');
  if (!file.subarray(0, 4).equals(Buffer.from('ply\n')) || end < 0) throw new Error('not a PLY file');
  const header = file.subarray(0, end).toString('ascii').split('\n');
  if (!header.includes('format binary_little_endian 1.0')) throw new Error('not a binary little-endian PLY');
  const properties = header.filter((l) => l.startsWith('property ')).join(',');
  if (
    properties !==
    'property float x,property float y,property float z,property uchar red,property uchar green,property uchar blue'
  ) {
    throw new Error(`unexpected vertex properties: ${properties}`);
  }
  const count = Number(header.find((l) => l.startsWith('element vertex '))?.split(' ')[2]);
  const bodyStart = end + 'end_header\n'.length;
  if (!Number.isInteger(count) || file.length - bodyStart !== count * BYTES_PER_VERTEX) {
    throw new Error(`vertex count ${count} does not match the ${file.length - bodyStart} data bytes`);
  }
  const positions = new Float32Array(count * 3);
  const colors = new Uint8Array(count * 3);
  for (let i = 0, o = bodyStart; i < count; i++, o += BYTES_PER_VERTEX) {
    positions[i * 3] = file.readFloatLE(o);
    positions[i * 3 + 1] = file.readFloatLE(o + 4);
    positions[i * 3 + 2] = file.readFloatLE(o + 8);
    colors[i * 3] = file[o + 12]!;
    colors[i * 3 + 1] = file[o + 13]!;
    colors[i * 3 + 2] = file[o + 14]!;
  }
  return { count, positions, colors };
}
