import { parseContentDisposition } from './content-disposition.ts';
import { type CookieSpec, collectCookies } from './cookies.ts';
import { HarError } from './errors.ts';
import { headerValue, replayableHeaders } from './headers.ts';
import type { Har, HarEntry } from './parse-har.ts';

/** One HAR entry as a download candidate, for listing and for `pickDownload({pick})`. */
export interface HarEntrySummary {
  /** Position in the file's `log.entries` (0-based). */
  readonly index: number;
  readonly method: string;
  readonly url: string;
  /** 0 when the browser got no response. */
  readonly status: number;
  readonly mimeType: string | null;
  /** Best known size of the resource: Content-Range total, Content-Length, `content.size`. */
  readonly sizeBytes: number | null;
  readonly failureText: string | null;
  /** A 301/302/303/307/308 with a target; `pickDownload` follows it to the end of the chain. */
  readonly isRedirect: boolean;
  /** The redirect target, resolved against the entry URL; null when not a redirect. */
  readonly redirectURL: string | null;
  /**
   * How much this looks like a file download; entries scoring at least `DOWNLOAD_SCORE_THRESHOLD`
   * qualify for an automatic pick. A redirect hop carries the score of its chain's end; an entry
   * that cannot be a download (POST, 404, blocked) scores `UNUSABLE_SCORE`.
   */
  readonly score: number;
  /** Human-readable evidence behind `score`, strongest first. */
  readonly reasons: readonly string[];
}

/** How `pickDownload` chooses. With neither option, the best-scoring entry is taken. */
export interface PickOptions {
  /** An index from `listEntries` (0-based). A redirect hop is followed to its chain's end. */
  readonly pick?: number | undefined;
  /** Take the best entry whose redirect chain has a URL containing this text (case-insensitive). */
  readonly match?: string | undefined;
}

/** A download chosen from a HAR, with the request context needed to replay it. */
export interface PickedDownload {
  /** Index of the entry that will be fetched (the end of the redirect chain). */
  readonly entryIndex: number;
  /** The final URL to fetch. */
  readonly url: string;
  /**
   * The first URL of the redirect chain: the request to re-issue for a fresh signed URL when the
   * final one expires.
   */
  readonly originalUrl: string;
  readonly method: string;
  /** Method of the first request of the chain (a form POST that redirected to the file). */
  readonly originalMethod: string;
  /** Replayable request headers of the final request (see `replayableHeaders`). */
  readonly headers: Readonly<Record<string, string>>;
  /** Replayable request headers of the first request, to re-issue `originalUrl`. */
  readonly originalHeaders: Readonly<Record<string, string>>;
  /** Cookies sent along the chain, each scoped to the host that received it. */
  readonly cookies: readonly CookieSpec[];
  readonly sizeBytes: number | null;
  /** File name from the final response's Content-Disposition, unsanitised. */
  readonly fileNameHint: string | null;
  /** Validators of the final response, to check a re-resolved URL serves the same file. */
  readonly etag: string | null;
  readonly lastModified: string | null;
  /** Why this entry was chosen, human readable. */
  readonly reasons: readonly string[];
  /** URLs of the redirect chain, first to last (the last one is `url`). */
  readonly chain: readonly string[];
}

/** Minimum score for an entry to be picked without `pick` or `match`. */
export const DOWNLOAD_SCORE_THRESHOLD = 30;
/** Score of an entry that cannot be a download at all. */
export const UNUSABLE_SCORE = -100;

const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
const KiB = 1024;
const MiB = 1024 * KiB;

/** Types a page loads for itself: markup, code, styles, data for scripts, fonts, playlists. */
const PAGE_MIME_TYPES: ReadonlySet<string> = new Set([
  'text/html',
  'application/xhtml+xml',
  'text/css',
  'text/javascript',
  'application/javascript',
  'application/x-javascript',
  'application/ecmascript',
  'text/ecmascript',
  'application/json',
  'text/json',
  'text/xml',
  'application/xml',
  'text/event-stream',
  'application/wasm',
  'application/x-protobuf',
  'application/grpc-web+proto',
  'application/vnd.apple.mpegurl',
  'application/x-mpegurl',
  'application/dash+xml',
  'application/font-woff',
  'application/x-font-woff',
  'application/x-font-ttf',
  'application/x-font-otf',
  'application/vnd.ms-fontobject',
  'application/csp-report',
]);

/** Types that are files to keep rather than things a page renders. */
const DOWNLOAD_MIME_TYPES: ReadonlySet<string> = new Set([
  'application/octet-stream',
  'binary/octet-stream',
  'application/zip',
  'application/x-zip',
  'application/x-zip-compressed',
  'application/gzip',
  'application/x-gzip',
  'application/x-gtar',
  'application/x-tar',
  'application/x-bzip2',
  'application/x-xz',
  'application/zstd',
  'application/x-zstd',
  'application/x-7z-compressed',
  'application/vnd.rar',
  'application/x-rar-compressed',
  'application/x-iso9660-image',
  'application/x-apple-diskimage',
  'application/x-msdownload',
  'application/x-msdos-program',
  'application/x-msi',
  'application/vnd.microsoft.portable-executable',
  'application/x-executable',
  'application/vnd.android.package-archive',
  'application/vnd.debian.binary-package',
  'application/x-debian-package',
  'application/x-rpm',
  'application/java-archive',
  'application/pdf',
  'application/epub+zip',
  'application/vnd.sqlite3',
  'application/vnd.apache.parquet',
  'application/x-raw-disk-image',
]);

/** Extensions (last one or two path suffixes) of files people download. */
const DOWNLOAD_EXTENSIONS: ReadonlySet<string> = new Set(
  (
    'zip 7z rar tar gz tgz bz2 tbz2 xz txz zst lz lzma iso img dmg pkg exe msi msix appimage ' +
    'deb rpm apk aab ipa jar war whl bin run mp4 mkv webm mov avi m4v mp3 flac wav m4a ogg opus ' +
    'pdf epub parquet sqlite vmdk qcow2 ova vhd vhdx nupkg gem snap flatpak'
  ).split(' '),
);

/** Resource types a page loads for itself (Chrome `_resourceType`). */
const PAGE_RESOURCE_TYPES: ReadonlySet<string> = new Set([
  'script',
  'stylesheet',
  'font',
  'image',
  'ping',
  'preflight',
  'manifest',
  'websocket',
  'eventsource',
  'texttrack',
  'csp violation report',
  'beacon',
]);

/** Query parameters of signed (expiring) URLs: S3, GCS, CloudFront, Azure SAS, Akamai. */
const SIGNATURE_PARAMS = ['x-amz-signature', 'x-goog-signature', 'signature', 'sig', 'hdnts', 'hdnea'];

interface Signal {
  readonly points: number;
  readonly text: string;
}

interface Assessment {
  readonly score: number;
  readonly reasons: string[];
  readonly unusable: string | null;
  readonly sizeBytes: number | null;
}

interface Analysis {
  readonly entries: readonly HarEntry[];
  readonly byIndex: ReadonlyMap<number, HarEntry>;
  /** Resolved absolute redirect target of each redirect entry. */
  readonly targets: ReadonlyMap<number, string>;
  readonly next: ReadonlyMap<number, number>;
  readonly prev: ReadonlyMap<number, number>;
  /** Entries that are 206 parts of one resource, keyed by URL. */
  readonly rangeGroups: ReadonlyMap<string, readonly number[]>;
  readonly assessments: ReadonlyMap<number, Assessment>;
}

/** A URL as the WHATWG parser writes it, without its fragment: how redirect targets are matched. */
function urlKey(url: string): string {
  let normal = url;
  try {
    normal = new URL(url).href;
  } catch {
    // Keep the text as it is: it can still equal another entry's text.
  }
  const hash = normal.indexOf('#');
  return hash === -1 ? normal : normal.slice(0, hash);
}

function resolveUrl(target: string, base: string): string | null {
  try {
    return new URL(target, base).href;
  } catch {
    return null;
  }
}

function parseNonNegativeInt(value: string | null): number | null {
  if (value === null || !/^\s*\d+\s*$/.test(value)) return null;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : null;
}

/** `bytes 0-1023/52428800` -> 52428800; null for `*` totals or anything malformed. */
export function contentRangeTotal(value: string | null): number | null {
  if (value === null) return null;
  const match = /^\s*bytes\s+(?:\d+-\d+|\*)\/(\d+)\s*$/i.exec(value);
  return match ? parseNonNegativeInt(match[1] ?? null) : null;
}

/** Best known resource size of one entry, with where it came from. */
function sizeOf(entry: HarEntry): { sizeBytes: number | null; source: string } {
  const headers = entry.response.headers;
  const total = contentRangeTotal(headerValue(headers, 'content-range'));
  if (total !== null) return { sizeBytes: total, source: 'Content-Range total' };
  if (entry.response.status !== 206) {
    const length = parseNonNegativeInt(headerValue(headers, 'content-length'));
    if (length !== null) return { sizeBytes: length, source: 'Content-Length' };
    const content = entry.response.contentSizeBytes;
    if (content !== null && content > 0) return { sizeBytes: content, source: 'content.size' };
  }
  return { sizeBytes: null, source: '' };
}

function formatBytes(n: number): string {
  if (n >= MiB * 1024) return `${(n / (MiB * 1024)).toFixed(1)} GiB`;
  if (n >= MiB) return `${(n / MiB).toFixed(1)} MiB`;
  if (n >= KiB) return `${(n / KiB).toFixed(1)} KiB`;
  return `${n} B`;
}

function fileExtension(url: string): string | null {
  let path: string;
  try {
    path = new URL(url).pathname.toLowerCase();
  } catch {
    return null;
  }
  const name = path.slice(path.lastIndexOf('/') + 1);
  const parts = name.split('.');
  if (parts.length < 2) return null;
  const last = parts[parts.length - 1] ?? '';
  if (!DOWNLOAD_EXTENSIONS.has(last)) return null;
  return parts.length > 2 && parts[parts.length - 2] === 'tar' ? `.tar.${last}` : `.${last}`;
}

function signatureParam(url: string): string | null {
  let params: URLSearchParams;
  try {
    params = new URL(url).searchParams;
  } catch {
    return null;
  }
  for (const [name] of params) {
    if (SIGNATURE_PARAMS.includes(name.toLowerCase())) return name;
  }
  return null;
}

function isAborted(entry: HarEntry): boolean {
  return entry.failureText !== null && /ERR_ABORTED|NS_BINDING_ABORTED/i.test(entry.failureText);
}

function mimeSignal(mime: string | null, sizeBytes: number | null): Signal | null {
  if (mime === null) return null;
  if (mime === 'video/mp2t') return { points: -10, text: `stream segment (${mime}): ddm does not assemble streams` };
  if (mime.startsWith('video/') || mime.startsWith('audio/')) return { points: 25, text: `media type ${mime}` };
  if (DOWNLOAD_MIME_TYPES.has(mime)) return { points: 25, text: `file type ${mime}` };
  if (mime.startsWith('application/vnd.openxmlformats') || mime.startsWith('application/vnd.oasis.opendocument')) {
    return { points: 25, text: `document type ${mime}` };
  }
  if (mime.startsWith('image/')) {
    return sizeBytes !== null && sizeBytes >= 5 * MiB
      ? { points: -10, text: `large image (${mime})` }
      : { points: -40, text: `page image (${mime})` };
  }
  if (PAGE_MIME_TYPES.has(mime) || mime.startsWith('font/') || mime.endsWith('+json')) {
    return { points: -40, text: `page asset type ${mime}` };
  }
  return null;
}

function sizeSignal(sizeBytes: number | null, source: string): Signal | null {
  if (sizeBytes === null) return null;
  const text = `${formatBytes(sizeBytes)} (${source})`;
  if (sizeBytes >= 100 * MiB) return { points: 35, text: `large: ${text}` };
  if (sizeBytes >= 10 * MiB) return { points: 30, text: `large: ${text}` };
  if (sizeBytes >= MiB) return { points: 20, text: `size ${text}` };
  if (sizeBytes >= 100 * KiB) return { points: 5, text: `size ${text}` };
  return { points: -10, text: `small: ${text}` };
}

/** Why an entry cannot be the end of a download at all, or null when it can. */
function unusableReason(entry: HarEntry): string | null {
  const { status } = entry.response;
  if (!/^https?:/i.test(entry.request.url)) return `not an http(s) URL`;
  if (entry.request.method !== 'GET') return `${entry.request.method} request (ddm only replays GET requests)`;
  if (status === 0) {
    if (isAborted(entry)) return null;
    return entry.failureText === null ? 'no response recorded' : `failed in the browser (${entry.failureText})`;
  }
  if (status >= 400) return `answered HTTP ${status}`;
  if (status < 200 || status === 204 || status === 205 || status === 304)
    return `answered HTTP ${status} without a body`;
  if (status >= 300) return `answered HTTP ${status} without a usable redirect target`;
  return null;
}

function chainIndexes(analysis: Analysis, end: number): number[] {
  const chain = [end];
  const seen = new Set(chain);
  let current = analysis.prev.get(end);
  while (current !== undefined && !seen.has(current)) {
    chain.unshift(current);
    seen.add(current);
    current = analysis.prev.get(current);
  }
  return chain;
}

function chainEnd(analysis: Analysis, start: number): number {
  const seen = new Set([start]);
  let current = start;
  for (let n = analysis.next.get(current); n !== undefined && !seen.has(n); n = analysis.next.get(n)) {
    seen.add(n);
    current = n;
  }
  return current;
}

function assess(analysis: Analysis, entry: HarEntry): Assessment {
  const target = analysis.targets.get(entry.index);
  const isDangling = target !== undefined && !analysis.next.has(entry.index);
  const unusable = isDangling ? null : unusableReason(entry);
  const { sizeBytes, source } = isDangling ? { sizeBytes: null, source: '' } : sizeOf(entry);
  if (unusable !== null) return { score: UNUSABLE_SCORE, reasons: [unusable], unusable, sizeBytes };
  if (isDangling) {
    // 307/308 repeat the method; 301/302/303 after a POST become GET in every browser.
    const keepsMethod = entry.response.status === 307 || entry.response.status === 308;
    const reason = !/^https?:/i.test(target)
      ? 'redirects to a URL that is not http(s)'
      : keepsMethod && entry.request.method !== 'GET'
        ? `${entry.request.method} redirect (${entry.response.status}) keeps the method; ddm only replays GET requests`
        : null;
    if (reason !== null) return { score: UNUSABLE_SCORE, reasons: [reason], unusable: reason, sizeBytes };
  }
  const signals: Signal[] = [];
  const push = (signal: Signal | null) => {
    if (signal !== null) signals.push(signal);
  };
  const url = isDangling ? target : entry.request.url;
  const chain = chainIndexes(analysis, entry.index);
  const hops = chain.length - 1 + (isDangling ? 1 : 0);
  const first = analysis.byIndex.get(chain[0] ?? entry.index) ?? entry;

  if (!isDangling) {
    const disposition = headerValue(entry.response.headers, 'content-disposition');
    if (disposition !== null) {
      const { type, fileName } = parseContentDisposition(disposition);
      const named = fileName === null ? '' : ` (filename "${fileName}")`;
      if (type === 'attachment') push({ points: 50, text: `Content-Disposition: attachment${named}` });
      else if (fileName !== null) push({ points: 15, text: `Content-Disposition names a file${named}` });
    }
    push(mimeSignal(entry.response.mimeType, sizeBytes));
    push(sizeSignal(sizeBytes, source));
    const type = entry.resourceType;
    if (type !== null && PAGE_RESOURCE_TYPES.has(type)) {
      push({ points: -30, text: `loaded by the page as ${type}` });
    }
    const group = analysis.rangeGroups.get(urlKey(entry.request.url));
    if (
      entry.response.status === 206 &&
      contentRangeTotal(headerValue(entry.response.headers, 'content-range')) !== null
    ) {
      push({ points: 10, text: 'server answers ranged requests (206 with Content-Range)' });
    } else if (/\bbytes\b/i.test(headerValue(entry.response.headers, 'accept-ranges') ?? '')) {
      push({ points: 10, text: 'server accepts ranges (Accept-Ranges: bytes)' });
    }
    if (group !== undefined && group.length > 1) {
      const span = `entries ${group[0]} to ${group[group.length - 1]}`;
      push({ points: 0, text: `${group.length} ranged responses for this URL (${span}) are one resource` });
    }
    // A media player cancels its 206 requests all the time: that says nothing about downloads.
    if (isAborted(entry) && entry.response.status !== 206) {
      push(
        hops > 0
          ? { points: 25, text: `the browser took over the end of the redirect chain (${entry.failureText})` }
          : {
              points: 10,
              text: `the browser stopped the request (${entry.failureText}), as it does when handing a file to its download manager`,
            },
      );
    } else if (entry.failureText !== null) {
      push({ points: 0, text: `transfer failed in the browser (${entry.failureText})` });
    }
  } else {
    push({ points: 0, text: `redirect target was not captured in the HAR` });
  }
  if (hops > 0) push({ points: 15, text: `end of a ${hops}-hop redirect chain from ${first.request.url}` });
  const signature = signatureParam(url);
  if (signature !== null) push({ points: 10, text: `signed URL (${signature})` });
  const extension = fileExtension(url);
  if (extension !== null) push({ points: 15, text: `file extension ${extension}` });

  const score = signals.reduce((sum, s) => sum + s.points, 0);
  const reasons = signals
    .map((s, order) => ({ s, order }))
    .sort((a, b) => Math.abs(b.s.points) - Math.abs(a.s.points) || a.order - b.order)
    .map(({ s }) => s.text);
  return { score, reasons, unusable: null, sizeBytes };
}

function analyze(har: Har): Analysis {
  const entries = har.entries;
  const byIndex = new Map(entries.map((e) => [e.index, e] as const));
  const targets = new Map<number, string>();
  for (const entry of entries) {
    if (!REDIRECT_STATUSES.has(entry.response.status) || entry.response.redirectURL === null) continue;
    const target = resolveUrl(entry.response.redirectURL, entry.request.url);
    if (target !== null) targets.set(entry.index, target);
  }
  // Each hop is linked to the first later entry requesting its target that no other hop claimed.
  const next = new Map<number, number>();
  const prev = new Map<number, number>();
  const keys = entries.map((entry) => urlKey(entry.request.url));
  entries.forEach((entry, position) => {
    const target = targets.get(entry.index);
    if (target === undefined) return;
    const key = urlKey(target);
    for (let p = position + 1; p < entries.length; p++) {
      const candidate = entries[p];
      if (candidate === undefined || prev.has(candidate.index)) continue;
      if (keys[p] !== key) continue;
      next.set(entry.index, candidate.index);
      prev.set(candidate.index, entry.index);
      break;
    }
  });
  const groups = new Map<string, number[]>();
  entries.forEach((entry, position) => {
    if (entry.response.status !== 206) return;
    if (contentRangeTotal(headerValue(entry.response.headers, 'content-range')) === null) return;
    const key = keys[position] ?? entry.request.url;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [entry.index]);
    else group.push(entry.index);
  });
  const assessments = new Map<number, Assessment>();
  const analysis: Analysis = { entries, byIndex, targets, next, prev, rangeGroups: groups, assessments };
  for (const entry of entries) {
    if (!next.has(entry.index)) assessments.set(entry.index, assess(analysis, entry));
  }
  return analysis;
}

/**
 * Every entry of the HAR as a download candidate, in file order, each with its score and the
 * evidence for it. Never throws.
 */
export function listEntries(har: Har): HarEntrySummary[] {
  const analysis = analyze(har);
  return analysis.entries.map((entry) => {
    const redirectURL = analysis.targets.get(entry.index) ?? null;
    const nextIndex = analysis.next.get(entry.index);
    let score: number;
    let reasons: string[];
    let sizeBytes: number | null;
    if (nextIndex !== undefined) {
      const end = chainEnd(analysis, entry.index);
      const endAssessment = analysis.assessments.get(end);
      score = endAssessment?.score ?? 0;
      reasons = [
        `redirect (${entry.response.status}) to entry ${nextIndex}; scored as the end of its chain (entry ${end})`,
      ];
      sizeBytes = null;
    } else {
      const assessment = analysis.assessments.get(entry.index);
      score = assessment?.score ?? UNUSABLE_SCORE;
      reasons = assessment?.reasons ?? [];
      sizeBytes = assessment?.sizeBytes ?? null;
    }
    return {
      index: entry.index,
      method: entry.request.method,
      url: entry.request.url,
      status: entry.response.status,
      mimeType: entry.response.mimeType,
      sizeBytes,
      failureText: entry.failureText,
      isRedirect: redirectURL !== null,
      redirectURL,
      score,
      reasons,
    };
  });
}

function hostOf(url: string): string | null {
  try {
    return new URL(url).host;
  } catch {
    return null;
  }
}

function chainMatches(analysis: Analysis, end: number, needle: string): boolean {
  const urls = chainIndexes(analysis, end).map((i) => analysis.byIndex.get(i)?.request.url ?? '');
  const target = analysis.targets.get(end);
  if (target !== undefined) urls.push(target);
  return urls.some((url) => url.toLowerCase().includes(needle));
}

function build(analysis: Analysis, end: number, extraReasons: readonly string[]): PickedDownload {
  const entry = analysis.byIndex.get(end);
  const assessment = analysis.assessments.get(end);
  if (entry === undefined || assessment === undefined) {
    throw new HarError(`HAR entry ${end} is not a download candidate`, 'no-download');
  }
  const indexes = chainIndexes(analysis, end);
  const chainEntries = indexes.map((i) => analysis.byIndex.get(i)).filter((e): e is HarEntry => e !== undefined);
  const first = chainEntries[0] ?? entry;
  const chain = chainEntries.map((e) => e.request.url);
  const danglingTarget = analysis.next.has(end) ? undefined : analysis.targets.get(end);
  let url = entry.request.url;
  let headers = replayableHeaders(entry.request.headers);
  let fileNameHint: string | null = null;
  let etag: string | null = null;
  let lastModified: string | null = null;
  if (danglingTarget !== undefined) {
    url = danglingTarget;
    chain.push(url);
    if (new URL(url).host !== hostOf(entry.request.url)) {
      // Browsers drop Authorization on a cross-origin redirect (Fetch standard, HTTP-redirect fetch).
      const { Authorization: _dropped, ...rest } = headers;
      headers = rest;
    }
  } else {
    const disposition = headerValue(entry.response.headers, 'content-disposition');
    fileNameHint = disposition === null ? null : parseContentDisposition(disposition).fileName;
    etag = headerValue(entry.response.headers, 'etag');
    lastModified = headerValue(entry.response.headers, 'last-modified');
  }
  const positive = assessment.reasons;
  return {
    entryIndex: end,
    url,
    originalUrl: first.request.url,
    method: 'GET',
    originalMethod: first.request.method,
    headers,
    originalHeaders: replayableHeaders(first.request.headers),
    cookies: collectCookies(
      chainEntries.map((e) => ({ url: e.request.url, cookies: e.request.cookies, headers: e.request.headers })),
    ),
    sizeBytes: assessment.sizeBytes,
    fileNameHint,
    etag,
    lastModified,
    reasons: [...extraReasons, ...positive],
    chain,
  };
}

/** Candidates: ends of chains that can be fetched, one per ranged resource. */
function candidates(analysis: Analysis): { index: number; assessment: Assessment }[] {
  const seenGroups = new Set<string>();
  const result: { index: number; assessment: Assessment }[] = [];
  for (const entry of analysis.entries) {
    const assessment = analysis.assessments.get(entry.index);
    if (assessment === undefined || assessment.unusable !== null) continue;
    const key = urlKey(entry.request.url);
    if (analysis.rangeGroups.get(key)?.includes(entry.index)) {
      if (seenGroups.has(key)) continue;
      seenGroups.add(key);
    }
    result.push({ index: entry.index, assessment });
  }
  return result;
}

function best(list: readonly { index: number; assessment: Assessment }[]) {
  return [...list].sort(
    (a, b) =>
      b.assessment.score - a.assessment.score ||
      (b.assessment.sizeBytes ?? -1) - (a.assessment.sizeBytes ?? -1) ||
      b.index - a.index,
  )[0];
}

/**
 * Chooses the entry of a HAR that is the file download and returns what is needed to fetch it
 * again: the final URL of its redirect chain, the chain's first URL (to re-resolve an expired
 * signed URL), replayable headers and scoped cookies.
 *
 * Without options the best-scoring entry wins if it reaches `DOWNLOAD_SCORE_THRESHOLD`; ties go
 * to the larger, then the later entry. `match` takes the best usable entry whose chain has a URL
 * containing the text, whatever its score; `pick` takes entry N (a redirect hop is followed to
 * the end of its chain). With both, the picked entry must also match.
 *
 * @throws {HarError} `ERR_HAR` with reason `no-download` when nothing qualifies, `pick` is not an
 *   entry index, or the chosen entry cannot be replayed (not GET, HTTP error, blocked).
 */
export function pickDownload(har: Har, options: PickOptions = {}): PickedDownload {
  const analysis = analyze(har);
  const needle = options.match?.toLowerCase();
  if (options.pick !== undefined) {
    const { pick } = options;
    if (!analysis.byIndex.has(pick)) {
      const last = analysis.entries[analysis.entries.length - 1]?.index ?? 0;
      throw new HarError(`No HAR entry ${pick}: entries are numbered 0 to ${last}`, 'no-download');
    }
    const end = chainEnd(analysis, pick);
    const endEntry = analysis.byIndex.get(end);
    const assessment = analysis.assessments.get(end);
    if (needle !== undefined && !chainMatches(analysis, end, needle)) {
      throw new HarError(`HAR entry ${pick} does not match "${options.match}"`, 'no-download');
    }
    if (endEntry === undefined || assessment === undefined || assessment.unusable !== null) {
      const why = assessment?.unusable ?? 'not a download candidate';
      throw new HarError(
        `HAR entry ${end} cannot be downloaded, ${why}: ${endEntry?.request.method ?? 'GET'} ${endEntry?.request.url ?? ''}`,
        'no-download',
      );
    }
    const extra = [
      end === pick ? `picked entry ${pick}` : `picked entry ${pick}, followed its redirects to entry ${end}`,
    ];
    return build(analysis, end, extra);
  }
  const all = candidates(analysis);
  if (needle !== undefined) {
    const matching = all.filter((c) => chainMatches(analysis, c.index, needle));
    const chosen = best(matching);
    if (chosen === undefined) {
      throw new HarError(
        `No downloadable HAR entry has a URL containing "${options.match}" (${analysis.entries.length} entries)`,
        'no-download',
      );
    }
    return build(analysis, chosen.index, [`URL contains "${options.match}"`]);
  }
  const chosen = best(all.filter((c) => c.assessment.score >= DOWNLOAD_SCORE_THRESHOLD));
  if (chosen === undefined) {
    throw new HarError(
      `No entry in the HAR looks like a file download (${analysis.entries.length} entries); pick one by index or by URL text`,
      'no-download',
    );
  }
  return build(analysis, chosen.index, []);
}
