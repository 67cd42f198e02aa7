import { invalidArgument } from "./connect";

/** No request message of Transcodely's protos nests anywhere near this deep. */
const MAX_MESSAGE_DEPTH = 32;

/**
 * A request message's JSON text, parsed: every method of every Transcodely service reads
 * its message through here. What reads the value next (field names, unset fields, enum
 * names, the schemas) recurses once per level, so a body nested thousands of levels deep
 * is refused here, as invalid_argument, before anything recurses into it.
 */
export function parseMessageJson(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw invalidArgument([{ field: "", description: `the request body is not a JSON message: ${(err as Error).message}` }]);
  }
  if (nestsDeeperThan(value, MAX_MESSAGE_DEPTH)) {
    throw invalidArgument([{ field: "", description: `the request message nests more than ${MAX_MESSAGE_DEPTH} levels deep` }]);
  }
  return value;
}

/** Whether an object or array lies more than `limit` levels deep (the message is level 1); walked with a stack, not recursion. */
function nestsDeeperThan(value: unknown, limit: number): boolean {
  const pending: [unknown, number][] = [[value, 1]];
  while (pending.length > 0) {
    const [node, depth] = pending.pop()!;
    if (node === null || typeof node !== "object") continue;
    if (depth > limit) return true;
    for (const child of Object.values(node)) pending.push([child, depth + 1]);
  }
  return false;
}
