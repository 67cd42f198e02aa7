export const HELP = `kiln: Kiln's command line, on the TypeScript SDK.

Usage:
  kiln video|audio|image|animation|adaptive -i <url|upload id|local file> [-o <file|dir|s3://…>] [options]
      --width <px|%> --height <px|%> --format <fmt> --codec <codec> --quality <very_low…very_high>
      --fit <contain|cover|fill> --fps <n> --start <s> --end <s> --bitrate <bps> --chunk-size <bytes>
  kiln jobs [list] [--status <s>] [--tag <t>] [--limit <n>]
  kiln jobs <id>
  kiln jobs create --body <file|->
  kiln watch <id> [-o <file|dir>]
  kiln upload <file> [--chunk-size <bytes>]
  kiln keys
  kiln origins

A local input is uploaded with tus and resumes after Ctrl-C when the same command runs again.
-o to a local path downloads the result (HLS: the whole package into that directory); -o s3://…
(or gs://, r2://) becomes the job's output location, resolved through your origins and secrets.

Global: --json (JSON lines, no bars), --help. Environment: KILN_URL (default http://127.0.0.1:8787),
KILN_API_KEY (default sk_dev_local), KILN_CLI_STATE_DIR (where unfinished uploads are remembered).
Exit codes: 0 done, 1 the job or a request failed (its code printed), 2 usage error, 130 interrupted.
`;
