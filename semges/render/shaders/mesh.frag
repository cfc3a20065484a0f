#version 330 core
// Fragment stage of semges' light shader: matte surfaces under a sky/ground ambient and up to
// MAX_DIRECTIONAL_LIGHTS directional lights with wrapped diffuse (a soft terminator). A few
// multiply-adds per light instead of pyrender's full PBR, which is what makes software
// rasterisation fast enough for video.

struct DirectionalLight {
    vec3 direction;
    vec3 color;
    float intensity;
};

struct Material {
    vec4 base_color_factor;
};

uniform Material material;
uniform DirectionalLight directional_lights[MAX_DIRECTIONAL_LIGHTS];
uniform int n_directional_lights;
uniform vec3 ambient_light;

const float WRAP = 0.35;          // diffuse wrap: light reaches this far past the terminator
const float GROUND_AMBIENT = 0.55; // ambient on faces pointing down, relative to faces up

in vec3 frag_normal;
in vec4 vertex_color;

out vec4 frag_color;

void main()
{
    vec3 n = normalize(frag_normal);
    vec4 albedo = material.base_color_factor * vertex_color;
    vec3 light = ambient_light * mix(GROUND_AMBIENT, 1.0, 0.5 + 0.5 * n.y);
    for (int i = 0; i < n_directional_lights; i++) {
        float facing = dot(n, -directional_lights[i].direction);
        float diffuse = max((facing + WRAP) / (1.0 + WRAP), 0.0);
        light += diffuse * directional_lights[i].intensity * directional_lights[i].color;
    }
    frag_color = vec4(clamp(albedo.rgb * light, 0.0, 1.0), albedo.a);
}
