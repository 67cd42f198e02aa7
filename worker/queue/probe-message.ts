import { z } from "zod";

/** What the probe Queue carries: an upload that became ready and has not been probed yet. */
export const probeMessageSchema = z.strictObject({
  v: z.literal(1),
  upload_id: z.string().regex(/^vid_[a-z0-9]{1,64}$/),
  org_id: z.string().min(1).max(64),
});
export type ProbeMessage = z.infer<typeof probeMessageSchema>;
