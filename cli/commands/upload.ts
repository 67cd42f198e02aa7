import type { Command } from "../args";
import { uploadFile } from "../upload";
import type { Context } from "./context";

/** `kiln upload <file>`: a resumable tus upload; prints the upload, whose id is a job input. */
export async function upload(command: Extract<Command, { name: "upload" }>, { kiln, config, out, signal }: Context): Promise<number> {
  const uploaded = await uploadFile(kiln, config, command.file, out, { chunkSize: command.chunkSize, signal });
  out.result(uploaded, uploaded.id);
  return 0;
}
