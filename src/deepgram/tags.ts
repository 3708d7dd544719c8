// What a key's tag may be, in every mode: the action reads the tags input by it, the broker its
// requests, its queries and its policy. A tag travels in a `?tags=a,b` query and in logs, so it
// holds no comma, no space and nothing that is not printable.

/** A tag: a letter or digit, then letters, digits and _.:/@+=-, 64 characters at most. */
const TAG = /^[A-Za-z0-9][A-Za-z0-9_.:/@+=-]{0,63}$/

/** Tags a key may be asked with, or a search may name, at most. */
export const MAX_TAGS = 20

/** The form of a tag, for messages: "… is not one of TAG_FORM". */
export const TAG_FORM = 'tags of letters, digits and _.:/@+=- (no commas or spaces), at most 64 characters'

export function isTag(text: string): boolean {
  return TAG.test(text)
}

/** What is wrong with a list of tags, to follow the list's name; undefined when every tag is one and they are few enough. */
export function tagsProblem(tags: readonly string[]): string | undefined {
  const bad = tags.find((tag) => !isTag(tag))
  if (bad !== undefined)
    return `'${bad}' is not a tag. Give at most ${MAX_TAGS} ${TAG_FORM}, each starting with a letter or digit, separated by commas or newlines.`
  if (tags.length > MAX_TAGS)
    return `names ${tags.length} tags. Give at most ${MAX_TAGS} ${TAG_FORM}, each starting with a letter or digit, separated by commas or newlines.`
  return undefined
}
