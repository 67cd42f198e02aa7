import { authHeaders } from "./api";

/** tus sends the file in requests of at most this many bytes: a Worker request body is capped at 100 MB on most plans. */
const CHUNK_BYTES = 50 * 1024 * 1024;

export interface UploadHandlers {
  onProgress(sent: number, total: number): void;
  onSuccess(uploadId: string): void;
  onError(message: string): void;
}

export interface RunningUpload {
  pause(): void;
  resume(): void;
}

/**
 * Uploads a file to /v1/uploads/tus with tus-js-client, loaded only when a file is
 * chosen. The client remembers each upload's URL in localStorage (by the file's name,
 * size and date, never the key), so the same file chosen again after a reload or a lost
 * connection resumes from the offset the server reports instead of starting over.
 */
export async function uploadFile(file: File, handlers: UploadHandlers): Promise<RunningUpload> {
  const { Upload } = await import("tus-js-client");
  const upload = new Upload(file, {
    endpoint: new URL("/v1/uploads/tus", location.href).toString(),
    headers: authHeaders(),
    metadata: { filename: file.name, filetype: file.type || "application/octet-stream" },
    chunkSize: CHUNK_BYTES,
    retryDelays: [0, 1000, 3000, 5000, 10000],
    removeFingerprintOnSuccess: true,
    onProgress: handlers.onProgress,
    onError: (err) => handlers.onError(err.message),
    onSuccess: () => {
      const id = upload.url?.split("/").pop();
      if (id) handlers.onSuccess(decodeURIComponent(id));
      else handlers.onError("the server named no upload");
    },
  });
  const previous = await upload.findPreviousUploads();
  if (previous[0]) upload.resumeFromPreviousUpload(previous[0]);
  upload.start();
  return {
    pause: () => void upload.abort(),
    resume: () => upload.start(),
  };
}
