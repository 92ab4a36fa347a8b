// Print a demo bearer token: node src/token.js [subject] [name]   (uses JWT_SECRET like the server)
import { DEMO_JWT_SECRET } from './server-config.js';
import { signJwt } from './jwt.js';

const [sub = 'alice', name = 'Alice'] = process.argv.slice(2);
console.log(signJwt({ sub, name, roles: ['orders:write'] }, process.env.JWT_SECRET || DEMO_JWT_SECRET));
