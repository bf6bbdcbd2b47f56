-- wrk script for the Bare Metal API benchmark.
--
-- Adds the API headers to every request. With a file argument
-- (wrk ... -s wrk-api.lua URL -- PATHS_FILE) each request takes the next path
-- from that file (one path per line, e.g. /v1/nodes/<uuid>), starting at a
-- random line in each wrk thread; without one it requests the URL as given.
--
-- The microversion comes from BENCH_API_VERSION (default 1.46).

local version = os.getenv("BENCH_API_VERSION") or "1.46"
wrk.headers["X-OpenStack-Ironic-API-Version"] = version
wrk.headers["Accept"] = "application/json"

local paths = nil
local idx = 1

function init(args)
  if args[1] ~= nil and args[1] ~= "" then
    paths = {}
    for line in io.lines(args[1]) do
      if line ~= "" then
        paths[#paths + 1] = line
      end
    end
    if #paths == 0 then
      paths = nil
    else
      math.randomseed(os.time() + (tonumber(tostring({}):match("0x(%x+)"), 16) or 0))
      idx = math.random(#paths)
    end
  end
end

function request()
  if paths == nil then
    return wrk.format(nil, nil)
  end
  local p = paths[idx]
  idx = idx % #paths + 1
  return wrk.format("GET", p)
end
