/** The SecretBox sealing this service's secrets at rest (CLOUDFLOW_SECRET_KEY, _PREVIOUS). */
export const SECRET_BOX = Symbol('SECRET_BOX');
