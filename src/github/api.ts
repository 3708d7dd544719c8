import type { SecretTarget } from './plan.ts'

/** Pinned: the secrets endpoints are checked under this version, and GHES knows it. */
export const GITHUB_API_VERSION = '2022-11-28'

export interface PublicKey {
  keyId: string
  /** Base64 Curve25519 public key. */
  key: string
}

export type WriteOutcome = 'created' | 'updated'

export interface SecretWrite {
  target: SecretTarget
  name: string
  encryptedValue: string
  keyId: string
  /** Organization secrets with visibility selected. */
  selectedRepositoryIds?: number[]
}

/** The GitHub calls secret writing needs; Octokit-backed in production (octokit.ts), fakes in tests. */
export interface SecretsApi {
  getPublicKey(target: SecretTarget): Promise<PublicKey>
  putSecret(write: SecretWrite): Promise<WriteOutcome>
  repositoryId(owner: string, repo: string): Promise<number>
}
