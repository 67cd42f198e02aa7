import { randomUUID } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import type { PreviousUpload, UrlStorage } from "tus-js-client";

type Entries = Record<string, Omit<PreviousUpload, "urlStorageKey">>;

/**
 * Where tus uploads under way are remembered between runs: a JSON file mapping each file's
 * fingerprint (its path, size and modification time, and the endpoint) to its upload URL.
 * A second run of the same upload finds it and resumes from the server's offset; a finished
 * upload is forgotten. One process at a time should use a file.
 */
export class FileResumeStore implements UrlStorage {
  constructor(readonly file: string) {}

  findAllUploads(): Promise<PreviousUpload[]> {
    return this.matching("tus::");
  }

  findUploadsByFingerprint(fingerprint: string): Promise<PreviousUpload[]> {
    return this.matching(`tus::${fingerprint}::`);
  }

  async removeUpload(urlStorageKey: string): Promise<void> {
    const entries = await this.read();
    delete entries[urlStorageKey];
    await this.write(entries);
  }

  async addUpload(fingerprint: string, upload: PreviousUpload): Promise<string> {
    const key = `tus::${fingerprint}::${randomUUID()}`;
    const entries = await this.read();
    const { urlStorageKey: _unsaved, ...saved } = upload;
    entries[key] = saved;
    await this.write(entries);
    return key;
  }

  private async matching(prefix: string): Promise<PreviousUpload[]> {
    const entries = await this.read();
    return Object.entries(entries)
      .filter(([key]) => key.startsWith(prefix))
      .map(([key, upload]) => ({ ...upload, urlStorageKey: key }));
  }

  private async read(): Promise<Entries> {
    try {
      return JSON.parse(await readFile(this.file, "utf8")) as Entries;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
      throw error;
    }
  }

  /** Written aside and renamed over, so an interrupted run never leaves half a file. */
  private async write(entries: Entries): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    const temporary = `${this.file}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify(entries, null, 2)}\n`);
    await rename(temporary, this.file);
  }
}
