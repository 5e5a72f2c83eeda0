/**
 * Images of upstream components the lab builds from the Go module proxy (`lab build --only coredns,metallb-speaker`):
 * the static binary alone in an OCI archive, as the upstream images are (FROM scratch / distroless). Cached by the
 * binary's hash: <cache>/images/<name>-<hash>/{image.tar,image.json}.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheDir } from '../../../core/build-cache.ts';
import { componentBinary, findRecipe } from '../build/index.ts';
import { ociArchive, type ImageConfig } from './oci-archive.ts';

export interface ComponentImage {
  /** the binary, as componentBinary names it */
  binary: string;
  /** where it goes in the image */
  path: string;
  config: ImageConfig;
}

export const COMPONENT_IMAGES: readonly ComponentImage[] = [
  // upstream coredns/coredns: FROM scratch, ENTRYPOINT ["/coredns"], USER nonroot
  { binary: 'coredns', path: 'coredns', config: { entrypoint: ['/coredns'], user: '65532:65532', exposedPorts: [53] } },
  // upstream metallb/speaker: ENTRYPOINT ["/speaker"]
  { binary: 'metallb-speaker', path: 'speaker', config: { entrypoint: ['/speaker'], exposedPorts: [7472, 7946] } },
];

/** lab.local/<binary>:<component version> */
export function componentImageRef(binary: string): string {
  const recipe = findRecipe(binary);
  if (!recipe) throw new Error(`no lab component builds ${binary}`);
  return `lab.local/${binary}:${recipe.version}`;
}

export async function buildComponentImage(image: ComponentImage): Promise<{ ref: string; archive: string; manifestDigest: string; cached: boolean }> {
  const ref = componentImageRef(image.binary);
  const content = await readFile(componentBinary(image.binary));
  const dir = join(cacheDir(), 'images', `${image.binary}-${createHash('sha256').update(content).update(JSON.stringify(image)).digest('hex').slice(0, 16)}`);
  const archive = join(dir, 'image.tar');
  const meta = join(dir, 'image.json');
  if (existsSync(meta) && existsSync(archive)) {
    const saved = JSON.parse(await readFile(meta, 'utf8')) as { ref: string; manifestDigest: string };
    if (saved.ref === ref) return { ref, archive, manifestDigest: saved.manifestDigest, cached: true };
  }
  await mkdir(dir, { recursive: true });
  const oci = await ociArchive(ref, [{ path: image.path, content, mode: 0o755 }], image.config);
  await writeFile(archive, oci.archive);
  await writeFile(meta, JSON.stringify({ ref, manifestDigest: oci.manifestDigest }, null, 2));
  return { ref, archive, manifestDigest: oci.manifestDigest, cached: false };
}

export async function buildComponentImages() {
  const out = [];
  for (const image of COMPONENT_IMAGES) out.push(await buildComponentImage(image));
  return out;
}
