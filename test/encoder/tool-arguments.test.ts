import { describe, expect, it } from "vitest";
import { toolArgumentsProblem } from "../../encoder/contract";

/** Pure: the allowlist of a tool run's ffmpeg arguments. */

describe("tool arguments allowlist", () => {
  it.each([
    ["the VTK example", ["-y", "-i", "source.mov", "-c:v", "libx264", "-b:v", "1500k", "-c:a", "aac", "-b:a", "128k", "source_720p.mp4"]],
    ["scale and format filters, rate control, faststart", ["-i", "in.mp4", "-vf", "scale=-2:720,format=yuv420p", "-c:v", "libx264", "-crf", "23", "-preset", "veryfast", "-movflags", "+faststart", "out.mp4"]],
    ["a split graph into an HLS ladder with relative segment names", [
      "-i", "in.mp4", "-filter_complex", "[0:v]split=2[a][b];[a]scale=640:-2[v1];[b]scale=320:-2[v2]",
      "-map", "[v1]", "-map", "[v2]", "-c:v", "libx264", "-f", "hls", "-hls_time", "4", "-hls_playlist_type", "vod",
      "-hls_segment_filename", "seg_%v_%03d.ts", "-var_stream_map", "v:0 v:1", "-master_pl_name", "master.m3u8", "out_%v.m3u8",
    ]],
    ["DASH with templates", ["-i", "in.mp4", "-map", "0", "-c", "copy", "-f", "dash", "-seg_duration", "4", "-init_seg_name", "init-$RepresentationID$.m4s", "-media_seg_name", "chunk-$RepresentationID$-$Number%05d$.m4s", "out.mpd"]],
    ["a window, stream maps with specifiers, metadata", ["-ss", "1.5", "-t", "00:00:02.5", "-i", "in.mov", "-map", "0:v:0", "-map", "0:a?", "-c:a", "copy", "-metadata:s:a:0", "language=eng", "-disposition:a:0", "default", "out.mkv"]],
    ["a lavfi test source to the null muxer", ["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=1", "-f", "null", "-"]],
    ["two-pass with a relative log", ["-i", "in.mp4", "-c:v", "libx264", "-b:v", "1M", "-pass", "1", "-passlogfile", "pass", "-an", "-f", "null", "/dev/null"]],
    ["drawtext with text and a font in the job dir", ["-i", "in.mp4", "-vf", "drawtext=text='Hello, world':fontfile=font.ttf:fontsize=24", "out.mp4"]],
    ["subtitles from the job dir", ["-i", "in.mp4", "-vf", "subtitles=subs.srt:force_style='FontSize=24'", "out.mp4"]],
    ["x264 params that set encoding only", ["-i", "in.mp4", "-c:v", "libx264", "-x264-params", "keyint=48:min-keyint=48:scenecut=0", "out.mp4"]],
    ["progress to a pipe", ["-progress", "pipe:2", "-i", "in.mp4", "out.webm"]],
    ["file: names inside the dir", ["-i", "file:in.mp4", "sub/out.mp4"]],
  ])("allows %s", (_label, args) => {
    expect(toolArgumentsProblem(args)).toBeNull();
  });

  it.each([
    ["movie= with an escaped slash", ["-i", "in.mp4", "-vf", "movie=\\/etc/passwd", "o.mp4"], /filter "movie"/],
    ["movie= with a space", ["-i", "in.mp4", "-vf", "movie= /etc/passwd", "o.mp4"], /filter "movie"/],
    ["movie= quoted and escaped in its name", ["-i", "in.mp4", "-vf", "'mo'v\\ie=x.mp4", "o.mp4"], /filter "movie"/],
    ["movie with an instance name", ["-i", "in.mp4", "-filter_complex", "movie@m=x.mp4[v];[0:v][v]overlay", "o.mp4"], /filter "movie"/],
    ["movie=http with escaped colons", ["-i", "in.mp4", "-vf", "movie=http\\\\\\://127.0.0.1\\\\\\:9/x", "o.mp4"], /filter "movie"/],
    ["amovie in a lavfi input", ["-f", "lavfi", "-i", "amovie=/etc/passwd", "o.wav"], /filter "amovie"/],
    ["drawtext textfile", ["-i", "in.mp4", "-vf", "drawtext=textfile=/proc/self/environ", "o.mp4"], /textfile "\/proc\/self\/environ" is an absolute path/],
    ["drawtext fontfile given positionally", ["-i", "in.mp4", "-vf", "drawtext=/etc/fonts/x.ttf", "o.mp4"], /fontfile/],
    ["drawtext fontfile positionally after a named option (ffmpeg restarts the order)", ["-i", "in.mp4", "-vf", "drawtext=text=hi:/etc/x.ttf", "o.mp4"], /fontfile/],
    ["drawtext textfile with a parent path", ["-i", "in.mp4", "-vf", "drawtext=textfile=../other/input", "o.mp4"], /leaves the working directory/],
    ["sendcmd f=", ["-i", "in.mp4", "-vf", "sendcmd=f=/etc/passwd,scale=1:1", "o.mp4"], /filter "sendcmd"/],
    ["zmq", ["-i", "in.mp4", "-vf", "zmq", "o.mp4"], /filter "zmq"/],
    ["subtitles with an absolute path", ["-i", "in.mp4", "-vf", "subtitles=/etc/passwd", "o.mp4"], /subtitles's filename/],
    ["subtitles fontsdir", ["-i", "in.mp4", "-vf", "subtitles=s.srt:fontsdir=/root", "o.mp4"], /fontsdir/],
    ["lut3d from a file", ["-i", "in.mp4", "-vf", "lut3d=file=/tmp/x.cube", "o.mp4"], /filter "lut3d"/],
    ["an unlisted filter", ["-i", "in.mp4", "-vf", "frei0r=filter_name=/lib/x.so", "o.mp4"], /filter "frei0r"/],
    ["an unbalanced label", ["-i", "in.mp4", "-filter_complex", "[0:v", "o.mp4"], /label/],
    ["-attach of a URL", ["-i", "in.mp4", "-attach", "http://127.0.0.1:9/x", "o.mkv"], /-attach is not allowed/],
    ["-dump_attachment", ["-dump_attachment:t:0", "/tmp/x", "-i", "in.mkv", "-f", "null", "-"], /-dump_attachment is not allowed/],
    ["-filter_complex_script", ["-i", "in.mp4", "-filter_complex_script", "graph.txt", "o.mp4"], /-filter_complex_script is not allowed/],
    ["-filter_script", ["-i", "in.mp4", "-filter_script:v", "graph.txt", "o.mp4"], /-filter_script is not allowed/],
    ["a -protocol_whitelist override", ["-protocol_whitelist", "file,http,tcp", "-i", "http://127.0.0.1:9/x", "o.mp4"], /-protocol_whitelist is not allowed/],
    ["an option that would swallow the runner's whitelist", ["-i", "in.mp4", "-metadata", "-i", "http://127.0.0.1:9/x", "o.mp4"], /output "http:\/\/127.0.0.1:9\/x"/],
    ["-f concat with -safe 0", ["-f", "concat", "-safe", "0", "-i", "list.txt", "-c", "copy", "o.mp4"], /-safe is not allowed/],
    ["-f tee", ["-i", "in.mp4", "-map", "0", "-f", "tee", "[f=mp4]\\/tmp/x.mp4|[f=mp4]o.mp4"], /-f tee/],
    ["-hls_key_info_file", ["-i", "in.mp4", "-f", "hls", "-hls_key_info_file", "key.info", "o.m3u8"], /-hls_key_info_file is not allowed/],
    ["-sdp_file", ["-i", "in.mp4", "-sdp_file", "x.sdp", "-f", "rtp", "rtp://127.0.0.1:9"], /-sdp_file is not allowed/],
    ["-vstats_file", ["-i", "in.mp4", "-vstats_file", "/tmp/v", "o.mp4"], /-vstats_file is not allowed/],
    ["-passlogfile with a path", ["-i", "in.mp4", "-pass", "1", "-passlogfile", "/tmp/pass", "-f", "null", "-"], /absolute path/],
    ["-progress to a file", ["-progress", "/tmp/p", "-i", "in.mp4", "o.mp4"], /pipe:1 or pipe:2/],
    ["an input URL", ["-i", "http://127.0.0.1:9/x", "o.mp4"], /input "http/],
    ["an absolute input", ["-i", "/etc/passwd", "o.mp4"], /absolute path/],
    ["a file: absolute input", ["-i", "file:/etc/passwd", "o.mp4"], /absolute path/],
    ["a parent-path input", ["-i", "../job_other/input", "o.mp4"], /leaves the working directory/],
    ["the concat protocol", ["-i", "concat:a.mp4|/etc/passwd", "o.mp4"], /input "concat:/],
    ["an output to tcp", ["-i", "in.mp4", "-f", "mpegts", "tcp://127.0.0.1:9"], /output "tcp:/],
    ["an output to a pipe", ["-i", "in.mp4", "-f", "mp4", "pipe:1"], /output "pipe:1"/],
    ["an absolute output", ["-i", "in.mp4", "-y", "/tmp/out.mp4"], /output "\/tmp\/out.mp4" is an absolute path/],
    ["an HLS segment path outside", ["-i", "in.mp4", "-f", "hls", "-hls_segment_filename", "/tmp/s%d.ts", "o.m3u8"], /absolute path/],
    ["a var_stream_map name that makes paths", ["-i", "in.mp4", "-f", "hls", "-var_stream_map", "v:0,name:../../x", "o_%v.m3u8"], /stream map of names/],
    ["an input device format", ["-f", "v4l2", "-i", "video0", "o.mp4"], /-f v4l2 is not an input format/],
    ["a fork-bomb thread count", ["-threads", "100000", "-i", "in.mp4", "o.mp4"], /whole number from 0 to 64/],
    ["x264 params naming a stats file", ["-i", "in.mp4", "-x264-params", "keyint=48:stats=/tmp/x", "o.mp4"], /"stats"/],
    ["-- before an output", ["-i", "in.mp4", "--", "-o.mp4"], /-- is not an option/],
    ["an unknown option", ["-i", "in.mp4", "-headers", "X: y", "o.mp4"], /-headers is not an option/],
    ["an option without its value", ["-i", "in.mp4", "-c:v"], /needs a value/],
  ])("refuses %s", (_label, args, reason) => {
    expect(toolArgumentsProblem(args)).toMatch(reason);
  });
});
