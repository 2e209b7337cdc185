"""GLSL for the cameras: one pass writes colour, planar depth and the class id to three
attachments. Geometry is drawn relative to the camera (p - u_cam) so that float32 keeps
millimetres even kilometres from the map origin."""

_SUN = """
uniform vec3 u_sun_dir;     // towards the sun, world
uniform vec3 u_sun_color;
uniform vec3 u_ambient;
"""

_FOG = """
uniform vec3 u_fog_color;
uniform float u_fog_k;      // extinction per metre
uniform float u_fog_start;  // metres

vec3 apply_fog(vec3 c, float dist) {
    float f = 1.0 - exp(-u_fog_k * max(dist - u_fog_start, 0.0));
    return mix(c, u_fog_color, f);
}
"""

# shared by the static map and the instanced actors. A face is lit once, at its provoking
# vertex (which carries the face's normal: meshes.with_face_normals), and the light is taken
# `flat`: the same colours as lighting each pixel with the face normal, for ~15 % less of
# llvmpipe's time a frame
_COMMON_VS = _SUN + """
uniform mat3 u_view;   // world -> GL eye (x right, y up, -z forward)
uniform vec3 u_cam;    // camera position, world
uniform mat4 u_proj;
out vec3 v_rel;        // world position minus camera position
out vec3 v_color;
out float v_depth;     // planar depth along the camera's forward axis
flat out vec3 v_light; // the face's light
flat out uint v_class;

void emit(vec3 world, vec3 normal, vec3 color, uint cls, bool emissive) {
    v_rel = world - u_cam;
    vec3 eye = u_view * v_rel;
    v_depth = -eye.z;
    v_color = color;
    v_class = cls;
    // the face turned towards the viewer (the same side from every point of a plane)
    vec3 n = normalize(normal);
    if (dot(n, v_rel) > 0.0) n = -n;
    float sky = 0.75 + 0.25 * n.z;  // faces open to the sky get more ambient light
    v_light = emissive ? vec3(1.0) : u_ambient * sky + u_sun_color * max(dot(n, u_sun_dir), 0.0);
    gl_Position = u_proj * vec4(eye, 1.0);
}
"""

STATIC_VS = "#version 330\n" + _COMMON_VS + """
in vec3 in_pos;
in vec3 in_color;
in uint in_class;
in uint in_material;
in vec3 in_normal;
void main() {
    emit(in_pos, in_normal, in_color, in_class, in_material == 5u);
}
"""

# template vertex + per-instance 3x4 matrix (unit box -> world), paint colour, class, light
# state; a normal maps with the inverse transpose of the matrix
ACTOR_VS = "#version 330\n" + _COMMON_VS + """
in vec3 in_pos;
in vec3 in_color;
in uint in_class;
in uint in_material;
in vec3 in_normal;
in vec4 in_row0;
in vec4 in_row1;
in vec4 in_row2;
in vec3 in_paint;
in uint in_actor_class;
in uint in_state;
void main() {
    vec4 p = vec4(in_pos, 1.0);
    vec3 world = vec3(dot(in_row0, p), dot(in_row1, p), dot(in_row2, p));
    vec3 color = in_material == 1u ? in_paint : in_color;
    bool lamp = in_material >= 2u && in_material <= 4u;
    bool lit = lamp && in_state == in_material - 2u;
    if (lamp && !lit) color *= 0.12;
    uint cls = in_class == 255u ? in_actor_class : in_class;
    // mat3(rows) is M^T, so its inverse is (M^-1)^T
    vec3 normal = inverse(mat3(in_row0.xyz, in_row1.xyz, in_row2.xyz)) * in_normal;
    emit(world, normal, color, cls, lit || in_material == 5u);
}
"""

GEOMETRY_FS = "#version 330\n" + _FOG + """
in vec3 v_rel;
in vec3 v_color;
in float v_depth;
flat in vec3 v_light;
flat in uint v_class;
layout(location = 0) out vec4 f_color;
layout(location = 1) out float f_depth;
layout(location = 2) out uint f_class;
void main() {
    f_color = vec4(apply_fog(v_color * v_light, length(v_rel)), 1.0);
    f_depth = v_depth;
    f_class = v_class;
}
"""

# a full-viewport triangle at the far plane, drawn last: shades only pixels no geometry covered
SKY_VS = """#version 330
uniform mat3 u_eye_to_world;
uniform vec2 u_tan_half;      // tan of the half fov, x and y (y negative: the image is flipped)
out vec3 v_dir;               // view ray, world frame (affine in screen space: exact per vertex)
void main() {
    vec2 p = vec2(float((gl_VertexID & 1) << 2) - 1.0, float((gl_VertexID & 2) << 1) - 1.0);
    v_dir = u_eye_to_world * vec3(p * u_tan_half, -1.0);
    gl_Position = vec4(p, 1.0, 1.0);
}
"""

SKY_FS = "#version 330\n" + _SUN + _FOG + """
uniform vec3 u_zenith;
uniform vec3 u_horizon;
uniform float u_sun_disc;     // 0 at night or under full overcast
uniform float u_far;
in vec3 v_dir;
layout(location = 0) out vec4 f_color;
layout(location = 1) out float f_depth;
layout(location = 2) out uint f_class;
void main() {
    vec3 d = normalize(v_dir);
    vec3 c = mix(u_horizon, u_zenith, sqrt(clamp(d.z, 0.0, 1.0)));
    float s = max(dot(d, u_sun_dir), 0.0);
    float s2 = s * s, s8 = s2 * s2 * s2 * s2;
    float disc = s > 0.9996 ? 4.0 : 0.0;
    c += u_sun_disc * (vec3(1.0, 0.95, 0.8) * disc + vec3(0.35, 0.3, 0.2) * s8);
    f_color = vec4(apply_fog(min(c, vec3(1.0)), u_far), 1.0);
    f_depth = u_far;
    f_class = 11u;
}
"""
