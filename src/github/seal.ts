import sodium from 'libsodium-wrappers'

/** Encrypts a value for a public key: base64 of libsodium's sealed box, as GitHub expects. */
export type Seal = (value: string, publicKey: string) => string

/** Initialises libsodium (tens of milliseconds, so only when a secret is written). */
export async function loadSeal(): Promise<Seal> {
  await sodium.ready
  const base64 = sodium.base64_variants.ORIGINAL
  return (value, publicKey) =>
    sodium.to_base64(sodium.crypto_box_seal(sodium.from_string(value), sodium.from_base64(publicKey, base64)), base64)
}
