/** Ganymede's version, and the JupyterHub REST API version it implements (clients gate features on the latter). */
export const GANYMEDE_VERSION = "0.1.0";
export const JUPYTERHUB_API_VERSION = "5.3.0";
