/**
 * Object keys of file bodies: the file's id (a UUID) and the body's role, never a name, a type or
 * a tenant's words. `f/<fileId>/p<n>` are an upload's parts, `f/<fileId>/body` the joined body
 * of an upload that came in several parts, `f/<fileId>/thumb` its thumbnail.
 */
export const blobKeys = {
  part: (fileId: string, part: number) => `f/${fileId.toLowerCase()}/p${part}`,
  body: (fileId: string) => `f/${fileId.toLowerCase()}/body`,
  thumbnail: (fileId: string) => `f/${fileId.toLowerCase()}/thumb`,
  ofFile: (fileId: string) => `f/${fileId.toLowerCase()}/`,
};
