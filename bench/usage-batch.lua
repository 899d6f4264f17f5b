-- POST /api/usage with batches of 100 records, every requestId new; env KW_KEY_ID; gateway
-- authenticated by the shared secret
local keyId = os.getenv("KW_KEY_ID")
local token = os.getenv("KW_TOKEN")
local counter = 0
local prefix = ""
function setup(thread)
  thread:set("tid", tostring(math.random(1, 1000000000)))
end
function init(args)
  prefix = "b" .. tid .. "-" .. tostring(os.time())
end
request = function()
  local parts = {}
  for i = 1, 100 do
    counter = counter + 1
    parts[i] = '{"requestId":"' .. prefix .. "-" .. counter .. '","keyId":"' .. keyId ..
      '","model":"gpt-4o-mini","inputTokens":100,"outputTokens":50,"costUsd":"0.000001"}'
  end
  return wrk.format("POST", "/api/usage",
    {["Content-Type"] = "application/json", ["X-Keywarden-Gateway-Secret"] = "bench-secret"},
    "[" .. table.concat(parts, ",") .. "]")
end
