// placeholder until wire tests land
