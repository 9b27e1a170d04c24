/** A training failure a user can act on, such as a diverging loss. */
export class TrainingError extends Error {
  constructor(
    readonly code: 'diverged',
    message: string,
  ) {
    super(message);
    this.name = 'TrainingError';
  }
}
