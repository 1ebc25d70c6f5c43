-- wrk script of the whole-system benchmarks (bench/lib.sh run_wrk). Configured by environment:
--   PATHS_FILE       one request path per line; each wrk thread takes every THREADS-th line, so
--                    no two threads send the same path; without it, every request is the URL's
--   THREADS          wrk's thread count (for splitting PATHS_FILE)
--   STOP_AT_END      1: a thread stops once it has answers for all its paths (every request a
--                    different key; up to one request per connection past the end repeats a path)
--   REQUESTS_PER_OP  requests that make one operation (2 for "manifest, then blob"); req_s is
--                    divided by it
--   EXPECT_STATUS    the status every answer must have (e.g. 404); others count as errors.
--                    Without it, wrk's own rule: a status of 400 or more is an error
--   ACCEPT           an Accept header to send
-- done() prints one line: RESULT requests duration_us ops_per_s p50_us p99_us errors

local threads = {}
local next_id = 1

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local paths_file = os.getenv("PATHS_FILE") or ""
local stop_at_end = os.getenv("STOP_AT_END") == "1"
local expect_status = tonumber(os.getenv("EXPECT_STATUS") or "")
local accept = os.getenv("ACCEPT") or ""

if accept ~= "" then
  wrk.headers["Accept"] = accept
end

function init(args)
  bad = 0
  answered = 0
  if paths_file ~= "" then
    paths = {}
    local n = tonumber(os.getenv("THREADS") or "1")
    local i = 0
    for line in io.lines(paths_file) do
      if i % n == id - 1 then
        table.insert(paths, line)
      end
      i = i + 1
    end
    if #paths == 0 then
      error("no paths for thread " .. id .. " in " .. paths_file)
    end
    index = 0
  end
end

-- Defined only when needed: without request() and response(), wrk sends one prepared request
-- and does not hand answers to Lua, which keeps the client as cheap as it can be.
if paths_file ~= "" then
  function request()
    index = index + 1
    if index > #paths then
      index = 1
    end
    return wrk.format(nil, paths[index])
  end
end

if stop_at_end or expect_status then
  function response(status, headers, body)
    answered = answered + 1
    if expect_status and status ~= expect_status then
      bad = bad + 1
    end
    if stop_at_end and answered >= #paths then
      wrk.thread:stop()
    end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.timeout
  if expect_status then
    for _, thread in ipairs(threads) do
      errors = errors + thread:get("bad")
    end
  else
    errors = errors + e.status
  end
  local per_op = tonumber(os.getenv("REQUESTS_PER_OP") or "1")
  local seconds = summary.duration / 1e6
  io.write(string.format("RESULT %d %d %.1f %d %d %d\n", summary.requests, summary.duration,
    summary.requests / seconds / per_op, latency:percentile(50), latency:percentile(99), errors))
end
