/** A setting is missing or wrong; the message names it and the forms it accepts. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}
