// Deepgram's project and key ids are UUIDs. An id read from state or from an answer goes into a
// URL path or a log line only once it is one: anything else could be a path, a query or a
// workflow command in disguise.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export function isUuid(value: string): boolean {
  return UUID.test(value)
}
