-- Argo CD health check for vpcep.io/v1alpha1 VpcEndpointService and VpcEndpoint. Both kinds
-- carry the same Ready and Synced conditions, so one script serves both keys of argocd-cm.
-- Argo CD runs it with gopher-lua (Lua 5.1): the object is the global `obj`, the result is
-- returned. Verdicts and their meaning: docs/gitops.md.

-- Synced=False reasons the operator retries on its own. Every other reason (InvalidSpec,
-- CredentialsError, CloudRejected, QuotaExceeded, Forbidden, Conflict, DeletionBlocked, NotFound,
-- and any reason a later operator adds) waits for a person to change something.
local RETRIED = {
  Throttled = true,
  CloudError = true,
  KubernetesError = true,
  -- The VpcEndpointService named by serviceRef is still coming up.
  DependencyNotReady = true,
}

-- Ready=False reasons and cloud statuses that stay until a person acts (fix the spec, ask the
-- service owner to accept, or delete the object).
local STUCK_READY = { Failed = true, Rejected = true }
local STUCK_CLOUD = { failed = true, rejected = true }

local function verdict(status, message)
  return { status = status, message = message }
end

local function find_condition(conditions, wanted)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == wanted then
      return c
    end
  end
  return nil
end

-- "Reason: message", so that the verdict names the condition's reason even where the operator's
-- message does not; `fallback` stands in for an empty message.
local function describe(c, fallback)
  local reason = c.reason or ""
  local message = c.message or ""
  if message == "" then
    message = fallback
  end
  if reason == "" then
    return message
  end
  return reason .. ": " .. message
end

local function health(o)
  local status = o.status
  if status == nil or (status.conditions == nil and status.status == nil) then
    return verdict("Progressing", "waiting for the vpcep operator to reconcile the object")
  end

  -- A status older than the spec says nothing about the spec: the operator has not acted on the
  -- change yet (status.observedGeneration is written at the end of every reconcile).
  local generation = o.metadata and o.metadata.generation
  local observed = status.observedGeneration
  if generation ~= nil and observed ~= nil and observed < generation then
    -- Concatenation, not string.format: gopher-lua hands numbers to Go's fmt as floats, where
    -- %d prints "%!d(lua.LNumber=2)".
    return verdict("Progressing", "the vpcep operator has not yet reconciled generation "
      .. generation .. " (the status is from generation " .. observed .. ")")
  end

  local conditions = status.conditions
  local ready = find_condition(conditions, "Ready")
  local synced = find_condition(conditions, "Synced")
  local published = find_condition(conditions, "Published")

  if synced ~= nil and synced.status == "False" and not RETRIED[synced.reason or ""] then
    return verdict("Degraded", describe(synced, "the last reconcile failed"))
  end
  if ready ~= nil and ready.status == "False" and STUCK_READY[ready.reason or ""] then
    return verdict("Degraded", describe(ready, "the cloud object is " .. (status.status or "failed")))
  end
  if STUCK_CLOUD[status.status or ""] then
    return verdict("Degraded", "the cloud reports the status " .. status.status)
  end
  -- Only endpoints with spec.publish have it; False means a name is taken by an object the
  -- endpoint does not own, or the ports are unknown: both need a change to the cluster or spec.
  if published ~= nil and published.status == "False" then
    return verdict("Degraded", describe(published, "the endpoint could not be published"))
  end
  if synced ~= nil and synced.status == "False" then
    return verdict("Progressing", describe(synced, "the operator retries the last reconcile"))
  end
  if ready ~= nil and ready.status == "True" then
    return verdict("Healthy", describe(ready, "ready"))
  end
  if ready ~= nil then
    return verdict("Progressing", describe(ready, "not ready yet"))
  end
  return verdict("Progressing", "the cloud reports the status " .. (status.status or "(none)"))
end

return health(obj)
