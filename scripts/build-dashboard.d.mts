export interface BuiltFile {
  file: string;
  bytes: number;
  gzipBytes: number;
  /** The sources bundled into it. */
  inputs: string[];
}

export interface DashboardManifest {
  sourceHash: string;
  entry: string;
  css: string | null;
  /** The JS a page load fetches before anything is clicked. */
  firstLoad: BuiltFile[];
  /** Chunks loaded on demand. */
  lazy: BuiltFile[];
}

export const DASHBOARD_SOURCE: string;
export const DASHBOARD_OUT: string;
export const SCALAR_ASSET: string;
export function readManifest(): DashboardManifest | null;
export function ensureDashboard(): Promise<DashboardManifest>;
