"""Exchange with agencies outside the installation: edXML packages and status packages of QCVN 102:2016."""
