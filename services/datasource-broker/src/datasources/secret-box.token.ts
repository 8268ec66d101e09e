/** The SecretBox sealing this service's secrets at rest (CLOUDFLOW_SECRET_KEY). */
export const SECRET_BOX = Symbol('SECRET_BOX');
