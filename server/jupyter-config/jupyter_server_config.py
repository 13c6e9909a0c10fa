# Configuration every single-user server started by Ganymede loads (the spawner puts this folder first on
# JUPYTER_CONFIG_PATH); the user's own configuration still applies on top of it.
#
# The hub's proxy adds the server's token to every request it forwards, so a browser never needs that token.
# JupyterLab and Notebook 7 would otherwise write it into every page they serve, handing a credential that skips
# the hub's Origin and XSRF checks to any script running in the page.


def _hide_server_token(handler, page_config):
    page_config["token"] = ""
    return page_config


c.ServerApp.tornado_settings.update({"page_config_hook": _hide_server_token})  # noqa: F821 (c is traitlets' config)

# Kernels talk to the server over Unix sockets in the server's runtime folder (0700, its own uid) instead of TCP
# ports on 127.0.0.1: on a machine shared by several users, anyone could connect to a TCP port and read a kernel's
# IOPub broadcast (every output of every cell), which message signing does not keep secret.
c.KernelManager.transport = "ipc"  # noqa: F821
