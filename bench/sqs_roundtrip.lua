-- wrk script for bench/sqs_roundtrip.py: each thread rotates SendMessage, ReceiveMessage and
-- DeleteMessage (with receipt handles from its own receives) over SQS's JSON protocol.
-- Signed: wrk cannot compute SigV4, so bench/sqs_roundtrip.py presigns each operation's
-- headers (X-Amz-Content-SHA256: UNSIGNED-PAYLOAD, so one signature fits every body) and
-- passes them in SQS_HOST, SQS_AUTH_<Op> and SQS_DATE_<Op>.
local threads = {}
local queue_url = os.getenv("SQS_QUEUE_URL")
local signed = {}
for _, op in ipairs({"SendMessage", "ReceiveMessage", "DeleteMessage"}) do
  signed[op] = {
    ["Host"] = os.getenv("SQS_HOST"),
    ["Authorization"] = os.getenv("SQS_AUTH_" .. op),
    ["X-Amz-Date"] = os.getenv("SQS_DATE_" .. op),
    ["X-Amz-Content-SHA256"] = "UNSIGNED-PAYLOAD",
  }
end

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  step = 0
  receipts = {}
  deletes = 0
  sends = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-amz-json-1.0"
end

local function call(op, body)
  local headers = {["X-Amz-Target"] = "AmazonSQS." .. op,
                   ["Content-Type"] = "application/x-amz-json-1.0"}
  for name, value in pairs(signed[op]) do
    headers[name] = value
  end
  return wrk.format("POST", "/", headers, body)
end

function request()
  step = step + 1
  local kind = step % 3
  if kind == 0 and #receipts > 0 then
    local receipt = table.remove(receipts, 1)
    return call("DeleteMessage", '{"QueueUrl":"' .. queue_url .. '","ReceiptHandle":"' .. receipt .. '"}')
  elseif kind == 1 then
    return call("SendMessage", '{"QueueUrl":"' .. queue_url .. '","MessageBody":"' .. string.rep("x", 100) .. '"}')
  end
  return call("ReceiveMessage", '{"QueueUrl":"' .. queue_url .. '","MaxNumberOfMessages":1}')
end

function response(status, headers, body)
  if status ~= 200 then return end
  local receipt = string.match(body, '"ReceiptHandle":"([^"]+)"')
  if receipt then
    table.insert(receipts, receipt)
  elseif string.find(body, "MD5OfMessageBody", 1, true) then
    sends = sends + 1
  elseif body == "{}" then
    deletes = deletes + 1
  end
end

function done(summary, latency, requests)
  local total_deletes, total_sends = 0, 0
  for _, thread in ipairs(threads) do
    total_deletes = total_deletes + thread:get("deletes")
    total_sends = total_sends + thread:get("sends")
  end
  io.write(string.format("ROUNDTRIP sends=%d deletes=%d duration_us=%d\n",
                         total_sends, total_deletes, summary.duration))
end
