-- Health from the kstatus conditions the operator writes. Only Ready,
-- Reconciling and Stalled count: RolloutRestart and TLSVerified describe
-- other concerns and never change health.
local function find(t)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == t then
      return c
    end
  end
  return nil
end

-- The first message of a and b that is not empty; either may be nil.
local function message(a, b)
  for _, c in ipairs({a or {}, b or {}}) do
    if c.message ~= nil and c.message ~= "" then
      return c.message
    end
  end
  return ""
end

-- Conditions written for an older generation say nothing about the spec
-- now in Git, so wait until the operator has looked at it.
local generation = obj.metadata.generation
local observed = nil
if obj.status ~= nil then
  observed = obj.status.observedGeneration
end
if generation ~= nil and observed ~= generation then
  local msg = "waiting for the operator to observe generation " .. generation
  if observed ~= nil then
    msg = msg .. " (the status describes generation " .. observed .. ")"
  end
  return {status = "Progressing", message = msg}
end

local ready = find("Ready")
local reconciling = find("Reconciling")
local stalled = find("Stalled")
if stalled ~= nil and stalled.status == "True" then
  -- Ready's message also says how long a token already written stays valid.
  return {status = "Degraded", message = message(ready, stalled)}
end
if reconciling ~= nil and reconciling.status == "True" then
  return {status = "Progressing", message = message(reconciling, ready)}
end
if ready ~= nil and ready.status == "True" then
  -- Includes RefreshFailing: the token in the target is still valid.
  return {status = "Healthy", message = message(ready)}
end
local msg = message(ready)
if msg == "" then
  msg = "waiting for the operator to report Ready"
end
return {status = "Progressing", message = msg}
